"""Working days (工作日) from chinese-calendar: statutory holidays and make-up workdays
decide every legal time limit. Outside the years the package knows, fall back to
Monday-Friday and say so in the log."""

import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)


_warned_years: set[int] = set()


def is_working_day(d: date) -> bool:
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        if d.year not in _warned_years:  # once per year and process, not once per day counted
            _warned_years.add(d.year)
            log.warning("chinese-calendar has no data for %s; counting Monday-Friday", d.year)
        return d.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (start itself not counted): a
    deadline of N working days from a notice served on ``start``."""
    if days < 0:
        raise ValueError("days must be >= 0")
    d = start
    left = days
    while left:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    n = 0
    d = start
    while d < end:
        d += timedelta(days=1)
        if is_working_day(d):
            n += 1
    return n


# The school calendar (校历) of a division: rest days and statutory holidays from
# chinese-calendar, winter and summer vacations from the division's policy.


def is_rest_day(d: date) -> bool:
    """A weekend or statutory holiday that is not a make-up working day."""
    return not is_working_day(d)


def _vacation_key(d: date, md: list[str]) -> bool:
    start, end = (tuple(int(x) for x in s.split("-")) for s in md)
    return start <= (d.month, d.day) <= end


VACATION_KEYS = ("calendar.winter_vacation", "calendar.summer_vacation")


def vacation_on(d: date, division_code: str, *, resolved: dict | None = None):
    """The vacation policy (a ``Resolved``) that ``d`` falls in for the division, or None.
    ``resolved``: the two vacation parameters in force on ``d``, already read (many
    lessons of one day read them once)."""
    from .policy import policy_resolve_many

    if resolved is None:
        resolved = policy_resolve_many(VACATION_KEYS, division_code, on=d)
    for key in VACATION_KEYS:
        r = resolved[key]
        if r.value and _vacation_key(d, r.value):
            return r
    return None

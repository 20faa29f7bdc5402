"""The to-do list (``portal/_todo.html``): its badge counts the items waiting, not the
kinds of task."""

import re

from django.template.loader import render_to_string

from qinglang.portal.todo import Landing, Todo


def _badge(html: str) -> int:
    m = re.search(r"data-todo-total[^>]*>(\d+)<", html)
    assert m, html
    return int(m.group(1))


def test_the_badge_sums_the_items_of_every_kind():
    landing = Landing(
        todos=[
            Todo("线索待受理", 3, "/a", key="a"),
            Todo("整改逾期未完成", 4, "/b", urgent=True, key="b"),
            Todo("审批申请待办理", 0, "/c", key="c"),
        ]
    )
    html = render_to_string("portal/_todo.html", {"landing": landing})
    assert _badge(html) == 7  # 3 + 4 items, not 2 kinds
    assert 'data-todo-key="c"' not in html  # a kind with nothing waiting is not listed


def test_no_badge_when_nothing_waits():
    html = render_to_string("portal/_todo.html", {"landing": Landing(todos=[Todo("线索待受理", 0, "/a")])})
    assert "data-todo-total" not in html and "data-todo-empty" in html

"""One pager for every list: page numbers (elided: 1 … 4 5 6 … 20), a page size the user
picks (``size``: 20, 50, 100 or 200) and the list's other parameters kept in the links.
``portal/_pager.html`` draws it."""

from django.core.paginator import Page, Paginator

SIZES = (20, 50, 100, 200)


def paginate(request, qs, per_page: int = 50, *, param: str = "page") -> Page:
    """The requested page of ``qs``; a bad page number gives the nearest page, a size
    outside ``SIZES`` the list's default."""
    try:
        size = int(request.GET.get("size", ""))
    except ValueError:
        size = per_page
    if size not in SIZES:
        size = per_page
    page = Paginator(qs, size).get_page(request.GET.get(param))
    params = request.GET.copy()
    params.pop(param, None)
    page.param = param
    page.size = size
    page.sizes = SIZES
    page.query = params.urlencode()
    params.pop("size", None)
    page.size_query = params.urlencode()
    page.elided = list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    return page

"""The overview a page at a time: sort links, page links, the filter with both, live regions of
the rows on screen only."""

import re

import pytest

from console.views import overview
from notifications import service as topics_service
from queues import listing, service

from .conftest import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_queues(monkeypatch):
    """Twelve queues q00-q11 on pages of five; q07 holds the most messages, q03 the next."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 5)
    made = [service.create_queue(f"q{n:02d}") for n in range(12)]
    for _ in range(3):
        send(made[7])
    send(made[3])
    return made


def row_names(html):
    return re.findall(
        r'<tr id="queue-\d+"[^>]*>\s*<th scope="row">\s*<a href="[^"]+">([^<]+)</a>', html
    )


def test_the_overview_shows_one_page_of_queues_and_says_where_it_is(viewer_client, many_queues):
    html = viewer_client.get("/", {"page": "2"}).content.decode()
    assert row_names(html) == ["q05", "q06", "q07", "q08", "q09"]
    assert "Queues 6–10 of 12" in html
    assert '<span id="queue-count" class="count" hx-swap-oob="true">12</span>' in html
    assert 'href="/?page=3" hx-get="/?page=3" rel="next">Next</a>' in html
    assert 'href="/" hx-get="/" rel="prev">Previous</a>' in html
    assert 'id="queue-page-2" href="/?page=2" aria-current="page">2</a>' in html


def test_large_counts_are_grouped_in_thousands(viewer_client, many_queues, monkeypatch):
    class Counted(type(listing.queue_page().paginator)):
        count = 2000

    monkeypatch.setattr(listing, "Paginator", Counted)
    html = viewer_client.get("/", {"page": "3"}).content.decode()
    assert "Queues 11–15 of 2,000" in html


def test_column_headings_sort_and_say_how(viewer_client, many_queues):
    html = viewer_client.get("/", {"sort": "-visible"}).content.decode()
    assert row_names(html) == ["q07", "q03", "q00", "q01", "q02"]
    visible = html[html.index('id="sort-visible"') - 200 : html.index('id="sort-visible"')]
    assert 'aria-sort="descending"' in visible
    assert html.count("aria-sort=") == 1
    # The sorted column turns around; another starts with its largest numbers; names A-Z.
    assert 'href="/?sort=visible" hx-get="/?sort=visible"' in html
    assert 'href="/?sort=-in_flight"' in html
    assert 'id="sort-name" class="sort" href="/"' in html


def test_sorting_keeps_the_filter_and_starts_at_page_one(viewer_client, many_queues):
    html = viewer_client.get("/", {"q": "q0", "sort": "visible", "page": "2"}).content.decode()
    assert "Queues 6–10 of 10" in html
    assert 'href="/?q=q0&amp;sort=-visible"' in html
    assert 'href="/?q=q0&amp;sort=visible&amp;page=1"' not in html


def test_the_filter_keeps_the_sort_and_starts_at_page_one(viewer_client, many_queues):
    html = viewer_client.get("/", {"sort": "-visible", "page": "2"}).content.decode()
    # The filter form sends the sort along (an input outside the form, tied to it by form=), and
    # no page.
    assert '<input type="hidden" name="sort" value="-visible" form="name-filter-form">' in html
    assert 'name="page"' not in html
    html = viewer_client.get("/").content.decode()
    assert 'name="sort"' not in html


def test_htmx_sorting_paging_and_refreshes_get_the_lists_they_swap(viewer_client, many_queues):
    headers = {"HX-Request": "true", "HX-Target": "queue-list"}
    html = viewer_client.get("/", {"sort": "-visible"}, headers=headers).content.decode()
    assert html.lstrip().startswith('<div id="queue-list">')
    assert row_names(html)[0] == "q07"
    assert 'id="topic-list"' not in html
    headers["HX-Target"] = "overview-refresher"
    html = viewer_client.get("/", headers=headers).content.decode()
    assert 'id="topic-list"' in html and 'id="create-queue"' not in html


def test_going_back_to_a_view_htmx_did_not_keep_gets_the_whole_page(viewer_client, many_queues):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = viewer_client.get("/", {"page": "2"}, headers=headers).content.decode()
    assert html.startswith("<!doctype html>")
    assert 'hx-history="false"' in html


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": "10000000000000000000000"},
        {"sort": "<script>"},
        {"sort": "-"},
        {"q": "a\x00b"},
        {"tpage": "x"},
        {"q": "x" * 5000},
    ],
)
def test_bad_view_parameters_show_a_page_not_an_error(viewer_client, many_queues, query):
    response = viewer_client.get("/", query)
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<body", 1)[1]


def test_topics_are_paged_and_filtered_too(viewer_client, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    for name in ("alpha", "beta", "gamma", "delta-events"):
        topics_service.create_topic(name)
    html = viewer_client.get("/", {"tpage": "2"}).content.decode()
    assert "Topics 3–4 of 4" in html
    assert ">gamma</a>" in html and ">alpha</a>" not in html
    assert 'href="/?tpage=1"' not in html and 'href="/" hx-get="/" rel="prev"' in html
    html = viewer_client.get("/", {"q": "ta"}).content.decode()
    assert ">beta</a>" in html and ">delta-events</a>" in html and ">gamma</a>" not in html


def test_live_regions_cover_the_rows_of_the_view_only(operator, many_queues):
    regions = overview.live_fragments(operator, sort="-visible", page="1")
    rows = [name for name in regions if name.startswith("queue-") and name[6:].isdigit()]
    assert rows == [f"queue-{many_queues[n].pk}" for n in (7, 3, 0, 1, 2)]
    assert list(overview.live_fragments(operator, page="3"))[:2] == [
        f"queue-{many_queues[10].pk}",
        f"queue-{many_queues[11].pk}",
    ]


def test_the_digest_changes_when_the_rows_on_screen_move(operator, many_queues):
    def digest():
        return overview.live_fragments(operator, sort="-visible")["queue-set"]

    before = digest()
    send(many_queues[7])
    assert digest() == before  # more in the first row: the same rows in the same order
    send(many_queues[0])
    assert digest() != before  # q00 now ties with q03, and comes before it


def test_the_dead_letter_queue_is_typed_with_suggestions_and_must_exist(operator_client):
    service.create_queue("jobs-dlq")
    html = operator_client.get("/").content.decode()
    assert 'list="queue-names"' in html
    assert 'hx-swap="innerHTML"></datalist>' in html  # the names come when the form opens
    headers = {"HX-Request": "true", "HX-Target": "queue-names"}
    names = operator_client.get("/", headers=headers).content.decode()
    assert names.strip() == '<option value="jobs-dlq">'
    response = operator_client.post("/queues/new", {"name": "jobs", "dead_letter_queue": "nope"})
    assert response.status_code == 422
    assert "There is no queue named nope." in response.content.decode()
    operator_client.post("/queues/new", {"name": "jobs", "dead_letter_queue": "jobs-dlq"})
    assert service.get_queue("jobs").dead_letter_queue.name == "jobs-dlq"

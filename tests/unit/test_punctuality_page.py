"""The punctuality page on the board (/punctuality): the producers' table sorts by any column
without JavaScript, every number lists the releases it counts, the chart has its data as a
table, a bad query is a 400 naming the parameter, and on AWS only a signed link opens it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest

from releasewatch.clock import FixedClock
from releasewatch.links.tokens import TokenCodec, issue_dashboard
from releasewatch.store.memory import InMemoryStore
from releasewatch.web.app import WebApp
from releasewatch.web.function_url import Deps, respond
from tests.browser.harness import personal_data
from tests.punctuality_support import NOW, PRODUCERS, seed_year

SECRET = b"punctuality-tests-secret-0123456789"


@pytest.fixture(scope="module")
def app() -> WebApp:
    store = InMemoryStore()
    seed_year(store)
    return WebApp(store, TokenCodec(SECRET), FixedClock(NOW))


def get(app: WebApp, path: str) -> Any:
    response = app.handle("GET", path)
    assert response.status == 200, response.text[-500:]
    return lxml.html.fromstring(response.text)


def producer_rows(page: Any) -> list[Any]:
    return page.xpath('//table[@id="producers"]/tbody/tr')


def cell(row: Any, column: str) -> Any:
    return row.xpath(f'td[@data-column="{column}"]')[0]


def test_the_page_has_every_producer_and_the_totals(app: WebApp) -> None:
    page = get(app, "/punctuality")
    names = [r.get("data-producer") for r in producer_rows(page)]
    assert names == sorted(PRODUCERS, key=str.casefold)
    totals = page.xpath('//table[@id="producers"]/tfoot/tr')[0]
    total = int(cell(totals, "releases").text_content())
    assert total == sum(int(cell(r, "releases").text_content()) for r in producer_rows(page))
    assert page.xpath("//h1")[0].text_content() == "Punctuality of official statistics"


def test_every_number_links_to_the_releases_it_counts(app: WebApp) -> None:
    page = get(app, "/punctuality")
    checked = 0
    for row in [*producer_rows(page), *page.xpath('//table[@id="producers"]/tfoot/tr')]:
        for column in ("releases", "on_time", "late", "early", "cancelled", "unknown",
                       "moved_short_notice"):  # fmt: skip
            td = cell(row, column)
            n = int(td.text_content())
            links = td.xpath("a/@href")
            if n == 0:
                assert links == []  # nothing to list
                continue
            query = parse_qs(urlsplit(links[0]).query)
            if row.get("data-producer"):
                assert query["producer"] == [row.get("data-producer")]
            listed = get(app, "/punctuality" + links[0]).xpath('//table[@id="releases"]/tbody/tr')
            assert len(listed) == n, (row.get("data-producer"), column)
            if column != "releases":
                assert {r.get("data-verdict") for r in listed} == {column}
            checked += 1
    assert checked > 20


def test_the_late_link_goes_to_the_late_releases_of_that_producer(app: WebApp) -> None:
    page = get(app, "/punctuality?producer=Department+for+Education&verdict=late")
    rows = page.xpath('//table[@id="releases"]/tbody/tr')
    assert rows and {r.get("data-verdict") for r in rows} == {"late"}
    text = page.xpath('//table[@id="releases"]')[0].text_content()
    assert "Late by 400 days" in text
    assert "Last seen not live" in text and "First seen live" in text


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_any_column_sorts_without_javascript(app: WebApp, order: str) -> None:
    page = get(app, f"/punctuality?sort=late&order={order}")
    counts = [int(cell(r, "late").text_content()) for r in producer_rows(page)]
    assert counts == sorted(counts, reverse=order == "desc")
    header = page.xpath('//table[@id="producers"]//th[@aria-sort!="none"]')
    assert [h.text_content() for h in header] == ["Late"]
    assert header[0].get("aria-sort") == ("descending" if order == "desc" else "ascending")
    # Its link sorts the other way.
    href = header[0].xpath("a/@href")[0]
    assert ("order=desc" in href) == (order == "asc"), href


def test_the_chart_has_a_text_alternative_and_its_data(app: WebApp) -> None:
    page = get(app, "/punctuality")
    charts = page.xpath('//figure[contains(@class, "rw-chart")]')
    assert charts
    for figure in charts:
        svg = figure.xpath(".//svg")[0]
        assert svg.get("role") == "img"
        ids = svg.get("aria-labelledby").split()
        assert all(figure.xpath(f'.//*[@id="{i}"]') for i in ids)
        marks = svg.xpath(".//circle | .//rect")
        rows = figure.xpath(".//details//tbody/tr")
        assert len(marks) == len(rows) > 0


def test_a_period_narrows_the_page(app: WebApp) -> None:
    whole = get(app, "/punctuality").xpath('//tfoot//td[@data-column="releases"]')[0]
    part = get(app, "/punctuality?from=2025-10-01&to=2025-12-31")
    narrowed = part.xpath('//tfoot//td[@data-column="releases"]')[0]
    assert 0 < int(narrowed.text_content()) < int(whole.text_content())
    assert "from 1 October 2025 to 31 December 2025" in part.text_content()
    href = part.xpath('//td[@data-column="late"]/a/@href')[0]
    assert "from=2025-10-01" in href and "to=2025-12-31" in href


@pytest.mark.parametrize(
    ("query", "named"),
    [("from=31/12/2025", "from:"), ("verdict=tardy", "verdict:"), ("sort=colour", "sort:"),
     ("order=up", "order:")],
)  # fmt: skip
def test_a_query_it_cannot_read_is_a_400_naming_the_parameter(
    app: WebApp, query: str, named: str
) -> None:
    response = app.handle("GET", f"/punctuality?{query}")
    assert response.status == 400
    assert named in response.text and "expected" in response.text


def test_the_files_are_served_beside_the_page(app: WebApp) -> None:
    for name, kind in (("punctuality.csv", "text/csv"), ("producers.csv", "text/csv"),
                       ("punctuality.json", "application/json"),
                       ("late-and-early.atom", "application/atom+xml")):  # fmt: skip
        response = app.handle("GET", f"/{name}?from=2025-10-01")
        assert response.status == 200 and response.headers["Content-Type"].startswith(kind)
    doc = json.loads(app.handle("GET", "/punctuality.json?from=2025-10-01").text)
    assert doc["period"] == {"from": "2025-10-01", "to": None}
    schema = app.handle("GET", "/api/schema/v1/punctuality.json")
    assert schema.status == 200 and json.loads(schema.text)["$id"].endswith("punctuality.json")


def test_the_page_names_no_person(app: WebApp) -> None:
    for path in ("/punctuality", "/punctuality?verdict=all"):
        text = app.handle("GET", path).text
        assert personal_data(text) == []
        for name in ("Alice Publisher", "Bob Lead", "Charlie Head"):
            assert name not in text


def event(path: str, query: str = "") -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.eu-west-2.on.aws"},
        "requestContext": {"http": {"method": "GET", "path": path}},
        "isBase64Encoded": False,
        "body": "",
    }


def test_on_aws_only_a_signed_dashboard_link_opens_it(app: WebApp) -> None:
    deps = Deps(store=lambda: app.store, codec=lambda: app.codec, clock=app.clock)
    for path in ("/punctuality", "/punctuality.csv", "/punctuality.json", "/producers.csv",
                 "/late-and-early.atom"):  # fmt: skip
        assert respond(event(path), deps)["statusCode"] == 403, path
    token = issue_dashboard(app.codec, NOW, timedelta(hours=1))
    answer = respond(event(f"/d/{token}/punctuality", "sort=late&order=desc"), deps)
    assert answer["statusCode"] == 200
    page = lxml.html.fromstring(answer["body"])
    # Relative links keep the token: the CSV beside the page, the schema at the board's home.
    assert page.xpath('//a[text()="releases as CSV"]/@href') == ["punctuality.csv"]
    assert page.xpath('//a[text()="JSON Schema"]/@href') == ["./api/schema/v1/punctuality.json"]
    csv_answer = respond(event(f"/d/{token}/punctuality.csv"), deps)
    assert csv_answer["statusCode"] == 200 and csv_answer["body"].startswith("release_id,")


def test_an_address_in_a_producer_never_reaches_a_link(tmp_path: Any) -> None:
    """The producer goes into the links' query strings, percent-encoded, where a scrub of the
    finished page would not see it: it is scrubbed where the record is read."""
    from tests.factories import DUE, make_check, make_release

    store = InMemoryStore()
    release = make_release(producer="Office for Example Statistics (press@example.com)")
    store.apply_releases([release], DUE - timedelta(days=1))
    store.record_checks([make_check(at=DUE + timedelta(minutes=5))])
    web = WebApp(store, TokenCodec(SECRET), FixedClock(DUE + timedelta(days=1)))
    for path in ("/punctuality", "/punctuality.json", "/punctuality.csv", "/late-and-early.atom"):
        text = web.handle("GET", path).text
        assert personal_data(text) == [], path


def test_a_move_says_how_far_ahead_it_was_announced(app: WebApp) -> None:
    page = get(app, "/punctuality?verdict=moved_short_notice")
    text = page.xpath('//table[@id="releases"]')[0].text_content()
    assert "Moved from" in text and "announced 3 days ahead, short notice" in text

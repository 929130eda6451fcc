"""One fault never silences the rest: a hostile release or answer fails only its own check.

One release among several gets a hostile URL (built with model_construct, as pushed or
imported data may be: validation is not a guarantee) and a hostile answer; a whole
Watchdog.tick must still probe, judge and escalate every other release, and record the
hostile one as a failed check with an error kind and a reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.clock import FixedClock
from releasewatch.model import LiveRule, Release, ReleaseState
from releasewatch.probe import HttpProber
from releasewatch.service import TickReport, Watchdog
from tests.factories import DUE, make_release
from tests.fakes import InMemoryStore, RecordingNotifier

GOOD = [f"good-{n}" for n in range(3)]
HOSTILE_ID = "hostile"

HOSTILE_URLS = st.one_of(
    st.sampled_from(
        [
            "https://xn--a.example/stats",  # invalid IDNA (punycode that decodes to nothing)
            "https://xn--zz-zzzzzzzzz.example/",
            "https://\udcff.example/stats",  # a lone surrogate: not even encodable
            "https://ex ample.com/",
            "https://[::1/",
            "https://a..b/",
            "https://" + "a" * 300 + ".example/",
            "https://user:pw@bad.example/",
            "http://bad.example/",
            "ftp://bad.example/",
            "",
            "https://%zz/",
            "https://\u0000.example/",
            "https://bad.example:99999/",
            "https://bad.example/\udcff",
            "https://bad.example/stats",  # a fine URL: the answer is the hostile part
        ]
    ),
    st.text(max_size=40).map(lambda t: "https://" + t),
)


def _deep_json(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"[" * 200_000 + b"]" * 200_000)


def _date_out_of_range(request: httpx.Request) -> httpx.Response:
    item = {
        "schema_name": "publication",
        "document_type": "official_statistics",
        "base_path": "/government/statistics/x",
        "first_published_at": "9999-12-31T23:59:59-23:59",
    }
    return httpx.Response(200, json=item)


def _location(target: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(302, headers={"Location": target})


def _raises(exc: BaseException) -> Callable[[httpx.Request], httpx.Response]:
    def route(request: httpx.Request) -> httpx.Response:
        raise exc

    return route


HOSTILE_ANSWERS = st.sampled_from(
    [
        _deep_json,
        _date_out_of_range,
        _location("http://[::1"),
        _location("https://user:pw@public.example/"),
        _location("https://bad.example/\x00"),
        _location("https://xn--a.example/"),
        _location("//"),
        _location("https://" + "a" * 70 + ".example/"),
        lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"\x1f\x8bxx"),
        lambda r: httpx.Response(200, content=b"\xff\xfe\x00<html>\xc3\x28</html>"),
        lambda r: httpx.Response(200, headers={"Content-Type": "text/html; charset=nonsense"}),
        lambda r: httpx.Response(999, content=b"?"),
        _raises(RecursionError("deep")),
        _raises(OverflowError("date value out of range")),
        _raises(UnicodeError("label empty or too long")),
        _raises(RuntimeError("a bug")),
        _raises(KeyError("schema_name")),
    ]
)


def hostile_release(url: str, govuk: bool) -> Release:
    rule = LiveRule(govuk=True) if govuk else LiveRule(contains=("Labour market overview",))
    valid = make_release(HOSTILE_ID, rule=rule)
    return Release.model_construct(**{**dict(valid), "url": url})


def tick(url: str, govuk: bool, answer: Callable[[httpx.Request], httpx.Response]) -> TickReport:
    clock = FixedClock(DUE + timedelta(minutes=6))  # the first alert step (5m) is due
    releases = [make_release(rid, url=f"https://{rid}.example/stats") for rid in GOOD]
    releases.insert(1, hostile_release(url, govuk))
    store = InMemoryStore()
    store.apply_releases(releases, clock.now())
    email = RecordingNotifier()

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host.startswith("good-"):
            return httpx.Response(404, text="Page not found")
        return answer(request)

    prober = HttpProber(clock, transport=httpx.MockTransport(route))

    async def run() -> TickReport:
        try:
            return await Watchdog(store, prober, {"email": email}, clock).tick()
        finally:
            await prober.aclose()

    report = asyncio.run(run())
    # The others were probed, judged and escalated in this same tick.
    for rid in GOOD:
        record = store.get_release(rid)
        assert record is not None and record.state == ReleaseState.LATE
        assert record.last_check is not None and record.last_check.status == 404
        assert any(m.key.startswith(f"{rid}|alert|0|") for m in email.sent), rid
    assert not [rid for rid, _ in report.errors if rid in GOOD]
    # The hostile one is a failed check, which every store can write.
    hostile = [c for c in report.checks if c.release_id == HOSTILE_ID]
    assert len(hostile) == 1 and not hostile[0].live
    assert hostile[0].reason
    hostile[0].model_dump_json().encode("utf-8")
    return report


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=HOSTILE_URLS, govuk=st.booleans(), answer=HOSTILE_ANSWERS)
def test_a_hostile_release_never_silences_the_others(
    url: str, govuk: bool, answer: Callable[[httpx.Request], httpx.Response]
) -> None:
    tick(url, govuk, answer)


def test_json_nested_200000_deep_is_the_releases_failed_check() -> None:
    report = tick("https://bad.example/government/statistics/x", True, _deep_json)
    check = next(c for c in report.checks if c.release_id == HOSTILE_ID)
    assert (check.error, check.reason) == ("bad_content", "answer nested too deeply to read")


def test_a_date_out_of_range_is_the_releases_failed_check() -> None:
    report = tick("https://bad.example/government/statistics/x", True, _date_out_of_range)
    check = next(c for c in report.checks if c.release_id == HOSTILE_ID)
    assert not check.live and check.error is not None


def test_a_date_out_of_range_is_logged_as_a_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Hostile data, not a bug of ours: a traceback on every tick (every 10 s in the hot window)
    # would bury the log. Fails on 390e87f: logged with log.exception.
    caplog.set_level(logging.WARNING, logger="releasewatch")
    tick("https://bad.example/government/statistics/x", True, _date_out_of_range)
    records = [r for r in caplog.records if r.name.startswith("releasewatch")]
    assert records and all(r.exc_info is None for r in records), [r.msg for r in records]
    assert any("out of range" in r.getMessage() for r in records)


def test_an_invalid_idna_host_is_the_releases_failed_check() -> None:
    report = tick("https://xn--a.example/stats", False, _location("/"))
    check = next(c for c in report.checks if c.release_id == HOSTILE_ID)
    assert (check.live, check.error) == (False, "invalid_url")


def test_a_url_that_cannot_be_encoded_is_a_failed_check_that_can_be_stored() -> None:
    report = tick("https://\udcff.example/stats", False, _location("/"))
    check = next(c for c in report.checks if c.release_id == HOSTILE_ID)
    assert check.error is not None
    assert "\udcff" not in check.url  # cleaned, so SQLite and DynamoDB can write it

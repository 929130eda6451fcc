"""Notify's callback bodies are outside data: any JSON is either parsed or refused with the
parser's own error, never a crash; and the bearer token is compared exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from releasewatch.acks.by_reply import BadInbound, parse_inbound
from releasewatch.notify.receipts import BadReceipt, parse_receipt, parse_time
from releasewatch.web.notify_callbacks import authorised

NOW = datetime(2025, 7, 17, 8, 40, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=6),
    max_leaves=20,
)
receipt_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text() | st.just("740e5834-3a29-46b4-9a6f-16142fde533a"),
        "status": st.text() | st.sampled_from(["delivered", "permanent-failure"]),
        "reference": json_values,
        "completed_at": st.text() | st.just("2025-07-17T08:40:07.000000Z") | json_values,
        "to": json_values,
    },
)


@given(body=json_values | receipt_like)
def test_any_json_is_a_receipt_or_a_bad_receipt(body: object) -> None:
    try:
        receipt = parse_receipt(body, NOW)
    except BadReceipt:
        return
    assert receipt.at.tzinfo is not None
    assert receipt.status


@given(body=json_values)
def test_any_json_is_a_received_text_or_a_bad_one(body: object) -> None:
    try:
        reply = parse_inbound(body, NOW)
    except BadInbound:
        return
    assert len(reply.text) <= 1000


def test_a_receipt_keeps_notifys_completion_time_and_never_the_address() -> None:
    receipt = parse_receipt(
        {
            "id": "740e5834-3a29-46b4-9a6f-16142fde533a",
            "reference": "lms|alert|1|0|web_publisher|notify_sms",
            "to": "+447700900101",
            "status": "delivered",
            "completed_at": "2025-07-17T08:40:07.000000Z",
        },
        NOW,
    )
    assert receipt.at == datetime(2025, 7, 17, 8, 40, 7, tzinfo=UTC)
    assert "+447700900101" not in repr(receipt)


@pytest.mark.parametrize("text", ["2017-05-14T12:15:30", "yesterday", "", None, 5])
def test_times_without_a_zone_or_malformed_are_not_used(text: object) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer callback-bearer-token-0123456789", True),
        ("bearer callback-bearer-token-0123456789", True),
        ("Bearer callback-bearer-token-012345678", False),
        ("Bearer callback-bearer-token-01234567890", False),
        ("Basic callback-bearer-token-0123456789", False),
        ("callback-bearer-token-0123456789", False),
        ("", False),
        (None, False),
    ],
)
def test_the_bearer_token_must_match_exactly(header: str | None, ok: bool) -> None:
    assert authorised(header, b"callback-bearer-token-0123456789") is ok


def test_no_token_configured_authorises_nobody() -> None:
    assert authorised("Bearer ", b"") is False

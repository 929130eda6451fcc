"""The longest base URL whose acknowledge links still fit one SMS with the essentials."""

from __future__ import annotations

from releasewatch.commands.sms_room import _longest_texts, public_url_problem
from releasewatch.notify.context import SMS_LIMIT


def base(length: int) -> str:
    prefix, suffix = "https://", ".example.com"
    return prefix + "x" * (length - len(prefix) - len(suffix)) + suffix


def test_the_longest_base_url_that_fits_is_accepted_and_one_more_character_is_not() -> None:
    assert public_url_problem(base(53)) is None
    for text, link in _longest_texts(base(53)):
        assert len(text) <= SMS_LIMIT and link in text and text.startswith("RW ")
    problem = public_url_problem(base(54))
    assert problem is not None and "at most 53 characters" in problem
    # what it prevents: the head (what happened, when) dropped to keep the link whole
    assert any(not text.startswith("RW ") for text, _ in _longest_texts(base(54)))


def test_a_base_url_that_is_not_http_is_refused() -> None:
    problem = public_url_problem("rw.example.com")
    assert problem is not None and "must start with http:// or https://" in problem

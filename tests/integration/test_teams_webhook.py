"""Teams (and Slack) webhooks on the real wire: a loopback Workflows trigger checks every card.

The webhook URL is a secret: it is read from the environment at send time, and no stored
reason, log line or message carries it (only its host). Answers map onto the service's
contract: 202 sent; 429 and 5xx retried within the attempt bound, after at least Retry-After;
400/401/403/404 failed for good with the reason in words, and the contact's email takes over.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from releasewatch.errors import SendError
from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.model import (
    Chain,
    Contact,
    DeliveryStatus,
    Notification,
    NotificationKind,
    Step,
    Webhook,
)
from releasewatch.notify.base import Card, CardLink, Message
from releasewatch.notify.slack import SlackNotifier
from releasewatch.notify.teams import TeamsNotifier
from releasewatch.notify.webhook import (
    MAX_RETRY_AFTER,
    WebhookPoster,
    WebhookSecrets,
    retry_after,
)
from releasewatch.policy import MAX_RETRY_BACKOFF
from releasewatch.probe.netguard import StaticResolver
from releasewatch.service import Watchdog
from releasewatch.store.memory import InMemoryStore
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber
from tests.webhook_support import WebhookServer, loopback_webhook

M = timedelta(minutes=1)
SIGNATURE = "SECRETSIGNATURE123"

CARD = Card(
    title="NOT LIVE: Labour market overview, UK: July 2025 (due 09:30 BST, 10 min late)",
    tone="attention",
    paragraphs=("'Labour market overview, UK: July 2025' was due at 09:30 and is not live.",),
    facts=(("Due", "Thu 17 Jul 2025 09:30 BST"),),
    links=(CardLink("Open the page", "https://stats.example.com/releases/lms-2025-07"),),
)


def message(channel: str = "teams", ref: str = "env:RW_TEAMS") -> Message:
    return Message(
        channel=channel,  # type: ignore[arg-type]
        to=ref,
        contact_id="stats_channel",
        contact_name="Statistics team channel",
        subject=CARD.title,
        text="(the email text)",
        key="lms-2025-07|alert|0|0|stats_channel|teams",
        card=CARD,
    )


def teams(server: WebhookServer, *, loopback: bool = True) -> TeamsNotifier:
    env = {"RW_TEAMS": server.url()}
    return TeamsNotifier(
        WebhookPoster("Teams", allow_loopback=loopback, secrets=WebhookSecrets(env=env))
    )


def test_a_card_posted_to_the_workflow_is_accepted_with_202() -> None:
    with loopback_webhook("teams") as server:
        teams(server).send(message())
    assert len(server.posts) == 1 and server.problems() == []
    post = server.posts[0]
    assert post.path.startswith("/workflows/abc/triggers/manual/paths/invoke?")
    assert post.card["body"][0]["items"][0]["inlines"][0]["text"] == CARD.title


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (400, b'{"error":{"code":"InvalidRequestContent","message":"bad"}}', "malformed"),
        (401, b'{"error":{"code":"DirectApiAuthorizationRequired"}}', "signature was refused"),
        (403, b"", "not allowed to post there"),
        (404, b'{"error":{"code":"WorkflowNotFound","message":"no"}}', "no such webhook"),
        # A redirect is not delivery: recorded as sent, the alert would be lost with no fallback.
        (301, b"", "a redirect"),
        (302, b"", "a redirect"),
        (307, b"", "a redirect"),
        (308, b"", "a redirect"),
    ],
)
def test_refusals_are_permanent_with_the_reason_in_words_and_no_secret(
    status: int, body: bytes, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with loopback_webhook("teams") as server:
        server.answer((status, {"Content-Type": "application/json"}, body))
        with pytest.raises(SendError) as caught:
            teams(server).send(message())
    error = caught.value
    assert error.permanent
    assert f"answered {status}" in error.reason and words in error.reason
    assert "127.0.0.1" in error.reason  # the host, so the operator knows which webhook
    for text in (error.reason, caplog.text):
        assert SIGNATURE not in text and "/workflows/" not in text


def test_an_error_body_echoing_the_url_is_scrubbed_from_the_reason() -> None:
    with loopback_webhook("teams") as server:
        echoed = f'{{"error":{{"message":"bad request to {server.url()}"}}}}'.encode()
        server.answer((400, {}, echoed))
        with pytest.raises(SendError) as caught:
            teams(server).send(message())
    assert SIGNATURE not in caught.value.reason and "<webhook>" in caught.value.reason


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry-After": "120"}, timedelta(seconds=120)),
        (503, {"Retry-After": "7"}, timedelta(seconds=7)),
        (408, {}, None),
        (500, {}, None),
        (502, {}, None),
    ],
)
def test_throttling_and_server_errors_are_transient_and_carry_retry_after(
    status: int, headers: dict[str, str], wait: timedelta | None
) -> None:
    with loopback_webhook("teams") as server:
        server.answer((status, headers, b"busy"))
        with pytest.raises(SendError) as caught:
            teams(server).send(message())
    assert not caught.value.permanent
    assert caught.value.retry_after == wait


def test_retry_after_as_an_http_date() -> None:
    now = DUE
    assert retry_after("Thu, 17 Jul 2025 08:32:00 GMT", now) == timedelta(minutes=2)
    assert retry_after("Thu, 17 Jul 2025 08:00:00 GMT", now) == timedelta(0)
    assert retry_after("soon", now) is None and retry_after(None, now) is None


@pytest.mark.parametrize(
    "value",
    ["9" * 30, "1" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"],
    ids=["30 digits", "400 digits", "year 9999"],
)
def test_an_absurd_retry_after_is_capped_not_an_overflow(value: str) -> None:
    assert retry_after(value, DUE) == MAX_RETRY_AFTER
    with loopback_webhook("teams") as server:
        server.answer((429, {"Retry-After": value}, b""))
        with pytest.raises(SendError) as caught:
            teams(server).send(message())
    assert not caught.value.permanent and caught.value.retry_after == MAX_RETRY_AFTER


def test_unicode_digits_in_retry_after_are_unreadable_not_an_error() -> None:
    assert retry_after("\u00b2\u00b3", DUE) is None


def test_a_loopback_webhook_is_refused_outside_local_mode() -> None:
    with loopback_webhook("teams") as server, pytest.raises(SendError) as caught:
        teams(server, loopback=False).send(message())
    assert caught.value.permanent and "refused" in caught.value.reason
    assert server.posts == []
    assert SIGNATURE not in caught.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/workflows/x?sig=SECRETSIGNATURE123",  # a private address
        "https://169.254.169.254/latest?sig=SECRETSIGNATURE123",  # the metadata service
        "http://prod.westeurope.logic.azure.com/workflows/x?sig=SECRETSIGNATURE123",  # not https
        "https://user:pw@prod.example.com/workflows/x?sig=SECRETSIGNATURE123",
    ],
)
def test_the_ssrf_guard_refuses_private_plain_and_credentialed_urls(url: str) -> None:
    notifier = TeamsNotifier(WebhookPoster("Teams", secrets=WebhookSecrets(env={"RW_TEAMS": url})))
    with pytest.raises(SendError) as caught:
        notifier.send(message())
    assert caught.value.permanent and "refused" in caught.value.reason
    assert SIGNATURE not in caught.value.reason


def test_a_name_resolving_to_a_private_address_is_refused_at_connect() -> None:
    resolver = StaticResolver({"flows.example.com": "10.1.2.3"})
    url = "https://flows.example.com/workflows/x?sig=SECRETSIGNATURE123"
    poster = WebhookPoster(
        "Teams", secrets=WebhookSecrets(env={"RW_TEAMS": url}), resolver=resolver
    )
    with pytest.raises(SendError) as caught:
        TeamsNotifier(poster).send(message())
    assert caught.value.permanent and "10.1.2.3" in caught.value.reason
    assert resolver.calls == ["flows.example.com"]


def test_a_missing_environment_variable_is_permanent_and_named() -> None:
    notifier = TeamsNotifier(WebhookPoster("Teams", secrets=WebhookSecrets(env={})))
    with pytest.raises(SendError) as caught:
        notifier.send(message())
    assert caught.value.permanent and "RW_TEAMS" in caught.value.reason


def test_an_ssm_parameter_is_read_at_send_time() -> None:
    with loopback_webhook("teams") as server:
        names: list[str] = []

        def read(name: str) -> str:
            names.append(name)
            return server.url()

        poster = WebhookPoster(
            "Teams", allow_loopback=True, secrets=WebhookSecrets(env={}, read_ssm=read)
        )
        TeamsNotifier(poster).send(message(ref="ssm:/releasewatch/webhooks/stats"))
    assert names == ["/releasewatch/webhooks/stats"] and len(server.posts) == 1


def test_a_webhook_that_never_answers_times_out_as_transient() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x?sig={SIGNATURE}"
        from releasewatch.notify.webhook import WebhookSettings

        poster = WebhookPoster(
            "Teams",
            allow_loopback=True,
            secrets=WebhookSecrets(env={"RW_TEAMS": url}),
            settings=WebhookSettings(total_timeout=0.5),
        )
        with pytest.raises(SendError) as caught:
            TeamsNotifier(poster).send(message())
    finally:
        listener.close()
    assert not caught.value.permanent and "no answer within 0.5s" in caught.value.reason


def test_a_huge_answer_is_not_read_past_the_cap() -> None:
    with loopback_webhook("teams") as server:
        server.answer((400, {}, b"x" * 200_000))
        with pytest.raises(SendError) as caught:
            teams(server).send(message())
    assert caught.value.permanent and len(caught.value.reason) < 400


def test_slack_posts_blocks_and_takes_ok() -> None:
    with loopback_webhook("slack") as server:
        env = {"RW_SLACK": server.url("/services/T000/B000/XXXX")}
        poster = WebhookPoster("Slack", allow_loopback=True, secrets=WebhookSecrets(env=env))
        SlackNotifier(poster).send(message("slack", "env:RW_SLACK"))
        server.answer((404, {}, b"no_service"))
        with pytest.raises(SendError) as caught:
            SlackNotifier(poster).send(message("slack", "env:RW_SLACK"))
    assert server.problems() == []
    assert server.posts[0].json["blocks"][0]["type"] == "header"
    assert caught.value.permanent and "no_service" in caught.value.reason


# -- through the service: claim -> send -> mark --------------------------------------------------
CHANNEL = Contact(
    id="stats_channel", name="Statistics team channel", teams=Webhook(webhook_env="RW_TEAMS")
)


def channel_release(**contact_updates: object):  # type: ignore[no-untyped-def]
    alice = CONTACTS["web_publisher"].model_copy(
        update={"teams": Webhook(webhook_env="RW_TEAMS_ALICE"), **contact_updates}
    )
    chain = Chain(
        id="teams",
        steps=(
            Step(after=5 * M, notify=("stats_channel",), channels=("teams",)),
            Step(after=10 * M, notify=("web_publisher",), channels=("teams",)),
        ),
    )
    return make_release(chain=chain, contacts={"stats_channel": CHANNEL, "web_publisher": alice})


def watchdog(server: WebhookServer, clock: FixedClock, email: RecordingNotifier) -> Watchdog:
    env = {"RW_TEAMS": server.url(), "RW_TEAMS_ALICE": server.url("/workflows/alice")}
    poster = WebhookPoster(
        "Teams", allow_loopback=True, secrets=WebhookSecrets(env=env), clock=clock
    )
    store = InMemoryStore()
    store.apply_releases([channel_release()], clock.now())
    # Local mode: the ack and status links point at the local web server (here, the same port).
    server.ack_base = f"http://127.0.0.1:{server.port}/"
    links = SignedLinks(f"http://127.0.0.1:{server.port}", TokenCodec(b"k" * 32))
    return Watchdog(
        store,
        ScriptedProber(clock, lambda now: False),
        {"teams": TeamsNotifier(poster), "email": email, "sms": RecordingNotifier()},
        clock,
        links=links,
    )


def test_an_alert_step_posts_a_valid_card_with_an_ack_button_to_the_channel() -> None:
    clock = FixedClock(DUE + 5 * M)
    email = RecordingNotifier()
    with loopback_webhook("teams") as server:
        dog = watchdog(server, clock, email)
        report = asyncio.run(dog.tick())
    assert [n.channel for n in report.sent] == ["teams"] and server.problems() == []
    card = server.posts[0].card
    actions = {a["title"]: a["url"] for a in card["actions"]}
    assert actions["Acknowledge"].startswith(f"http://127.0.0.1:{server.port}/a/")
    assert actions["Open the page"] == "https://stats.example.com/releases/lms-2025-07"
    (fact_set,) = [b for b in card["body"] if b["type"] == "FactSet"]
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert facts["Due"] == "Thu 17 Jul 2025 09:30 BST" and facts["Late by"].startswith("5 min")
    (delivery,) = dog.store.deliveries("lms-2025-07")
    assert delivery.status == DeliveryStatus.SENT and email.sent == []


def test_429_waits_for_retry_after_then_the_bound_still_holds() -> None:
    clock = FixedClock(DUE + 5 * M)
    email = RecordingNotifier()
    with loopback_webhook("teams") as server:
        server.answer((429, {"Retry-After": "90"}, b""))
        dog = watchdog(server, clock, email)
        asyncio.run(dog.tick())
        (delivery,) = dog.store.deliveries("lms-2025-07")
        assert delivery.status == DeliveryStatus.RETRY
        # Retry-After (90 s) is longer than the first backoff (15 s): it wins.
        assert delivery.next_attempt_at == DUE + 5 * M + timedelta(seconds=90)
        clock.set(DUE + 5 * M + timedelta(seconds=60))
        asyncio.run(dog.tick())
        assert len(server.posts) == 1  # not before Retry-After
        clock.set(DUE + 5 * M + timedelta(seconds=91))
        asyncio.run(dog.tick())
    assert len(server.posts) == 2
    (delivery,) = dog.store.deliveries("lms-2025-07")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


def test_a_retry_after_of_an_hour_waits_no_longer_than_the_longest_backoff() -> None:
    clock = FixedClock(DUE + 5 * M)
    with loopback_webhook("teams") as server:
        server.answer((429, {"Retry-After": "3600"}, b""))
        dog = watchdog(server, clock, RecordingNotifier())
        asyncio.run(dog.tick())
    (delivery,) = dog.store.deliveries("lms-2025-07")
    assert delivery.status == DeliveryStatus.RETRY
    assert delivery.next_attempt_at == DUE + 5 * M + MAX_RETRY_BACKOFF


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirected_card_is_not_sent_and_the_persons_email_takes_over(status: int) -> None:
    clock = FixedClock(DUE + 10 * M)
    email = RecordingNotifier()
    with loopback_webhook("teams") as server:
        server.script.default = (status, {"Location": "https://example.com/elsewhere"}, b"")
        dog = watchdog(server, clock, email)
        asyncio.run(dog.tick())
        asyncio.run(dog.tick())
    by_key = {d.key: d for d in dog.store.deliveries("lms-2025-07")}
    alice = Notification.make_key(
        "lms-2025-07", NotificationKind.ALERT, "web_publisher", "teams", 1, 0
    )
    assert by_key[alice].status == DeliveryStatus.FAILED
    assert "a redirect" in (by_key[alice].error or "")
    assert [m.to for m in email.sent] == ["alice.publisher@example.com"]


def test_a_refused_card_fails_for_good_and_the_persons_email_takes_over() -> None:
    clock = FixedClock(DUE + 10 * M)
    email = RecordingNotifier()
    with loopback_webhook("teams") as server:
        server.script.default = (404, {}, b'{"error":{"code":"WorkflowNotFound"}}')
        dog = watchdog(server, clock, email)
        asyncio.run(dog.tick())  # the channel (step 0) and Alice (step 1) both fail
        asyncio.run(dog.tick())  # Alice's fallback: her email
    by_key = {d.key: d for d in dog.store.deliveries("lms-2025-07")}
    alice = Notification.make_key(
        "lms-2025-07", NotificationKind.ALERT, "web_publisher", "teams", 1, 0
    )
    assert by_key[alice].status == DeliveryStatus.FAILED
    assert "no such webhook" in (by_key[alice].error or "")
    assert SIGNATURE not in str([d.error for d in by_key.values()])
    assert by_key[f"{alice}>email"].status == DeliveryStatus.SENT
    assert [m.to for m in email.sent] == ["alice.publisher@example.com"]
    # The channel has no email or phone: nothing stands in, and the failure is recorded.
    channel_keys = [k for k in by_key if "|stats_channel|" in k]
    assert [by_key[k].status for k in channel_keys] == [DeliveryStatus.FAILED]


# -- on AWS: the URL in an SSM SecureString -------------------------------------------------------
def test_on_aws_the_webhook_url_is_read_from_an_ssm_securestring(aws: None) -> None:
    import boto3

    from releasewatch.aws.secure_parameters import PARAMETERS
    from tests.integration.conftest import REGION

    PARAMETERS.clear()  # another test's cached value must not answer for this one
    ssm = boto3.client("ssm", region_name=REGION)
    with loopback_webhook("teams") as server:
        ssm.put_parameter(
            Name="/releasewatch/webhooks/stats", Value=server.url(), Type="SecureString"
        )
        poster = WebhookPoster("Teams", allow_loopback=True, secrets=WebhookSecrets(env={}))
        TeamsNotifier(poster).send(message(ref="ssm:/releasewatch/webhooks/stats"))
    assert len(server.posts) == 1 and server.problems() == []
    # A parameter that does not exist is a configuration mistake: permanent, and named.
    with pytest.raises(SendError) as caught:
        TeamsNotifier(WebhookPoster("Teams")).send(message(ref="ssm:/releasewatch/webhooks/none"))
    assert caught.value.permanent
    assert "/releasewatch/webhooks/none" in caught.value.reason
    assert "ParameterNotFound" in caught.value.reason


def test_an_ack_from_a_channel_card_names_nobody_it_cannot_know() -> None:
    from releasewatch.model import Event, EventKind

    clock = FixedClock(DUE + 10 * M)
    email = RecordingNotifier()
    with loopback_webhook("teams") as server:
        dog = watchdog(server, clock, email)
        asyncio.run(dog.tick())  # the channel's card and Alice's card
        # Someone in the channel presses Acknowledge (the ack page records the channel).
        dog.store.add_event(
            Event(
                release_id="lms-2025-07",
                at=DUE + 11 * M,
                kind=EventKind.ACKNOWLEDGED,
                contact_id="stats_channel",
                detail={"step": "0"},
            )
        )
        clock.set(DUE + 11 * M)
        asyncio.run(dog.tick())
    (notice,) = email.sent  # Alice's ack notice, by her first channel (email)
    # Before: "Statistics team channel is on it", as if the channel were a person.
    assert notice.subject == (
        "Acknowledged: Labour market overview, UK: July 2025, someone in Statistics team "
        "channel is on it"
    )
    assert "Someone in Statistics team channel acknowledged the alert" in notice.text


def test_an_accepted_post_with_an_undecodable_body_still_counts_as_sent() -> None:
    # A 202 is the answer; a body in an encoding we cannot read must not make it a failure
    # (which would post the same card again).
    with loopback_webhook("teams") as server:
        server.answer((202, {"Content-Encoding": "zstd-unknown"}, b"\x00\x01garbage"))
        teams(server).send(message())
    assert len(server.posts) == 1

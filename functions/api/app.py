"""API Lambda behind a function URL: health and status, GOV.UK Notify's callbacks, the
acknowledge and confirm links and the signed board, routed by releasewatch.web.function_url.

The import stays small (no web framework, no models, no templates): they load with the first
request that needs them, so a cold start costs little on top of the runtime's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from releasewatch.aws.lazy import Lazy
from releasewatch.clock import Clock, SystemClock
from releasewatch.web.function_url import Deps, Unavailable, respond

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from releasewatch.aws.heartbeat import TickMarker
    from releasewatch.links.tokens import TokenCodec
    from releasewatch.store.dynamodb import DynamoDBStore
    from releasewatch.web.notify_callbacks import NotifyCallbacks

logger = Logger()
# No Powertools Tracer: constructing it loads the X-Ray SDK, about 0.5 s of every cold start
# (measured by tests/bench/bench_aws.py). With the template's Tracing parameter Active (it
# defaults to Disabled), Lambda still records each invocation in X-Ray without it. Metrics load
# only when a request fails.
clock: Clock = SystemClock()  # tests replace it


def _build_store() -> DynamoDBStore:
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.store.dynamodb import DynamoDBStore

    return DynamoDBStore(ApiSettings.from_env().table_name)


def _build_marker() -> TickMarker:
    from releasewatch.aws.heartbeat import TickMarker

    return TickMarker(store().client, store().table_name)


_codecs: dict[bytes, TokenCodec] = {}


def codec() -> TokenCodec:
    """The ack-link key, read on every request that needs it (kept for 5 minutes by
    releasewatch.aws.secure_parameters), so a parameter created, fixed or rotated after the
    cold start is used within 5 minutes."""
    from releasewatch.aws.secure_parameters import read_ack_secret
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.errors import ConfigError, ConfigProblem
    from releasewatch.links.tokens import TokenCodec

    name = ApiSettings.from_env().ack_secret_parameter
    if not name:
        raise ConfigError([ConfigProblem("ACK_SECRET_PARAMETER", "is not set", "environment")])
    secret = read_ack_secret(name)
    if secret not in _codecs:
        _codecs.clear()
        _codecs[secret] = TokenCodec(secret)
    return _codecs[secret]


def _guarded_codec() -> TokenCodec:
    try:
        return codec()
    except Exception as exc:  # health and status answer without the key; its pages answer 503
        from releasewatch.aws.poller import unreadable_secret
        from releasewatch.aws.settings import ApiSettings

        name = ApiSettings.from_env().ack_secret_parameter or "(ACK_SECRET_PARAMETER unset)"
        logger.error(
            "ack secret unavailable: ack links and the dashboard answer 503",
            extra={"reason": unreadable_secret(name, exc)},
        )
        raise Unavailable from exc


store: Lazy[DynamoDBStore] = Lazy(_build_store)
marker: Lazy[TickMarker] = Lazy(_build_marker)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return respond(event, _deps())
    except Exception:
        # A request that raises (the table unreachable, a bug) is an invocation error, and a
        # problem for the one alarm: an acknowledgement or a dashboard did not work.
        from aws_lambda_powertools import Metrics

        from releasewatch.aws.metrics import count_problems

        metrics = Metrics()
        count_problems(metrics, 1)
        metrics.flush_metrics()
        raise


def _deps() -> Deps:
    return Deps(
        store=store,
        codec=_guarded_codec,
        clock=clock,
        last_tick=lambda: marker().last(),
        notify=_notify_callbacks,
    )


def _notify_callbacks() -> NotifyCallbacks | None:
    """GOV.UK Notify's callbacks, when the stack has a callback token (None: it has none):
    built per request, the token read from SSM (cached 5 minutes), so a rotated
    token works at once."""
    from releasewatch.acks.by_reply import inbound_callback
    from releasewatch.aws.notify import read_secure
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.web.notify_callbacks import NotifyCallbacks

    settings = ApiSettings.from_env()
    name = settings.notify_callback_token_parameter
    if not name:
        return None
    try:
        token = read_secure(name).encode()
    except Exception as exc:
        logger.error("notify callback token unreadable", extra={"reason": type(exc).__name__})
        raise Unavailable from exc
    return NotifyCallbacks(
        store(),
        clock,
        token,
        max_attempts=settings.max_attempts,
        inbound=inbound_callback if settings.notify_replies else None,
    )

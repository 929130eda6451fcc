"""API Lambda behind a function URL: health and status (releasewatch.web.routes), and the
acknowledge links and dashboard (releasewatch.web.ack_routes), one resolver for both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from releasewatch.aws.lazy import Lazy
from releasewatch.aws.metrics import count_problems
from releasewatch.clock import Clock, SystemClock
from releasewatch.web import ack_routes, notify_routes
from releasewatch.web.routes import router

if TYPE_CHECKING:
    from releasewatch.aws.heartbeat import TickMarker
    from releasewatch.store.dynamodb import DynamoDBStore
    from releasewatch.tokens import TokenCodec

logger = Logger()
metrics = Metrics()  # only for Problems, when a request fails (releasewatch/aws/metrics.py)
# No Powertools Tracer: constructing it loads the X-Ray SDK, about 0.5 s of every cold start
# (measured by tests/bench/bench_aws.py), which would blow the 300 ms import budget. The
# template keeps `Tracing: Active`, so Lambda still records each invocation in X-Ray.
app = LambdaFunctionUrlResolver()
app.include_router(router)
app.include_router(ack_routes.router)
app.include_router(notify_routes.router)
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
    """The ack-link key, read on every request (Powertools caches it for 5 minutes), so a
    parameter created, fixed or rotated after the cold start is used within 5 minutes."""
    from releasewatch.aws.poller import read_ack_secret
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.errors import ConfigError, ConfigProblem
    from releasewatch.tokens import TokenCodec

    name = ApiSettings.from_env().ack_secret_parameter
    if not name:
        raise ConfigError([ConfigProblem("ACK_SECRET_PARAMETER", "is not set", "environment")])
    secret = read_ack_secret(name)
    if secret not in _codecs:
        _codecs.clear()
        _codecs[secret] = TokenCodec(secret)
    return _codecs[secret]


store: Lazy[DynamoDBStore] = Lazy(_build_store)
marker: Lazy[TickMarker] = Lazy(_build_marker)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return _handle(event, context)
    except Exception:
        # A request that raises (the table unreachable, a bug) is an invocation error, and a
        # problem for the one alarm: an acknowledgement or a dashboard did not work.
        count_problems(metrics, 1)
        metrics.flush_metrics()
        raise


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools clears the router context after every resolve: append it each time.
    app.append_context(  # type: ignore[no-untyped-call]
        store=store(), clock=clock, last_tick=marker().last
    )
    try:
        app.append_context(ack_codec=codec())  # type: ignore[no-untyped-call]
    except Exception as exc:  # health and status answer without the key; its pages answer 503
        from releasewatch.aws.poller import unreadable_secret
        from releasewatch.aws.settings import ApiSettings

        name = ApiSettings.from_env().ack_secret_parameter or "(ACK_SECRET_PARAMETER unset)"
        logger.error(
            "ack secret unavailable: ack links and the dashboard answer 503",
            extra={"reason": unreadable_secret(name, exc)},
        )
    if event.get("rawPath", "").startswith("/notify/"):
        _notify_context()
    return app.resolve(event, context)


def _notify_context() -> None:
    """GOV.UK Notify's callbacks, when the stack has a callback token: built per request, the
    token read from SSM (cached 5 minutes by Powertools), so a rotated token works at once."""
    from releasewatch.aws.settings import ApiSettings

    settings = ApiSettings.from_env()
    name = settings.notify_callback_token_parameter
    if not name:
        return  # no callbacks on this stack: 404
    from releasewatch.aws.notify import read_secure
    from releasewatch.reply_ack import inbound_callback
    from releasewatch.web.notify_callbacks import NotifyCallbacks

    try:
        token = read_secure(name).encode()
    except Exception as exc:
        logger.error("notify callback token unreadable", extra={"reason": type(exc).__name__})
        app.append_context(notify_token_unreadable=True)  # type: ignore[no-untyped-call]
        return
    callbacks = NotifyCallbacks(
        store(),
        clock,
        token,
        max_attempts=settings.max_attempts,
        inbound=inbound_callback if settings.notify_replies else None,
    )
    app.append_context(notify_callbacks=callbacks)  # type: ignore[no-untyped-call]

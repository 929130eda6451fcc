"""API Lambda behind a function URL: health and status (releasewatch.web.routes), and the
acknowledge links and dashboard (releasewatch.web.ack_routes), one resolver for both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from releasewatch.aws.lazy import Lazy
from releasewatch.web import ack_routes
from releasewatch.web.routes import router

if TYPE_CHECKING:
    from releasewatch.store.base import Store
    from releasewatch.tokens import TokenCodec

logger = Logger()
# No Powertools Tracer: constructing it loads the X-Ray SDK, about 0.5 s of every cold start
# (measured by tests/bench/bench_aws.py), which would blow the 300 ms import budget. The
# template keeps `Tracing: Active`, so Lambda still records each invocation in X-Ray.
app = LambdaFunctionUrlResolver()
app.include_router(router)
app.include_router(ack_routes.router)


def _build_store() -> Store:
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.store.dynamodb import DynamoDBStore

    return DynamoDBStore(ApiSettings.from_env().table_name)


def _build_codec() -> TokenCodec:
    from releasewatch.aws.poller import read_ack_secret
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.errors import ConfigError, ConfigProblem
    from releasewatch.tokens import TokenCodec

    name = ApiSettings.from_env().ack_secret_parameter
    if not name:
        raise ConfigError([ConfigProblem("ACK_SECRET_PARAMETER", "is not set", "environment")])
    return TokenCodec(read_ack_secret(name))


store: Lazy[Store] = Lazy(_build_store)
codec: Lazy[TokenCodec] = Lazy(_build_codec)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools clears the router context after every resolve: append it each time.
    app.append_context(store=store())  # type: ignore[no-untyped-call]
    try:
        app.append_context(ack_codec=codec())  # type: ignore[no-untyped-call]
    except Exception:  # health and status must answer even when the ack key is unreadable
        logger.exception("ack secret unavailable: acknowledge links answer 500")
    return app.resolve(event, context)

"""API Lambda behind a function URL: resolves the routes in releasewatch.web.routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from releasewatch.aws.lazy import Lazy
from releasewatch.web.routes import router

if TYPE_CHECKING:
    from releasewatch.store.base import Store

logger = Logger()
tracer = Tracer()
app = LambdaFunctionUrlResolver()
app.include_router(router)


def _build_store() -> Store:
    from releasewatch.aws.settings import ApiSettings
    from releasewatch.store.dynamodb import DynamoDBStore

    return DynamoDBStore(ApiSettings.from_env().table_name)


store: Lazy[Store] = Lazy(_build_store)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(store=store())  # type: ignore[no-untyped-call]
    return app.resolve(event, context)

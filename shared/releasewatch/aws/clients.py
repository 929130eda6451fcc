"""AWS clients, made with botocore alone: boto3 would add its own import (s3transfer and its
resource layer, ~0.2 s of a Lambda cold start) for nothing these clients need.

Every client comes from one botocore session per process, made on first use, as boto3.client
did with its default session: region, credentials and AWS_ENDPOINT_URL are resolved the same
way (botocore does it for both), and the endpoint data is read once for all the services.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_session: Any = None


def session() -> Any:
    """The process's botocore session (made on first use)."""
    global _session
    with _lock:
        if _session is None:
            import botocore.session

            from .service_data import create_loader

            made = botocore.session.get_session()
            # the data botocore reads, found without listing every service (service_data.py)
            made.lazy_register_component(
                "data_loader", lambda: create_loader(made.get_config_variable("data_path"))
            )
            _session = made
        return _session


def client(
    service: str,
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    config: Any = None,
) -> Any:
    """A botocore client for `service` (botocore's name: "dynamodb", "sesv2", "cloudwatch")."""
    shared = session()
    # botocore's session loads its components lazily: one client made at a time
    with _lock:
        return shared.create_client(
            service, region_name=region_name, endpoint_url=endpoint_url, config=config
        )


def reset() -> None:
    """Forget the session, so the next client reads credentials and region afresh (tests do
    this per test, as moto's mock_aws does with boto3's default session)."""
    global _session
    with _lock:
        _session = None

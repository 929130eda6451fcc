"""The clients' data loader (aws/service_data.py) answers botocore's "is this service known?"
without listing every service, with botocore's own answers: the same services known, the same
list when one is asked for, the same data read (in plain dicts, in the same order)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.loaders import Loader

from releasewatch.aws import clients
from releasewatch.aws.service_data import ServiceDataLoader, create_loader

TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")
NOT_SERVICES = ("", ".", "..", "nope", "DynamoDB", "dynamodb/2012-08-10", "../data", "dynamodb/")


@pytest.mark.parametrize("type_name", TYPES)
def test_the_services_known_are_botocores(type_name: str) -> None:
    listed = Loader().list_available_services(type_name)
    ours = ServiceDataLoader().list_available_services(type_name)
    assert listed and all(name in ours for name in listed)
    assert not any(name in ours for name in NOT_SERVICES if name not in listed)
    # the whole list, when asked for (an unknown service's error names them all)
    assert list(ours) == listed and len(ours) == len(listed) and ours == listed
    assert ", ".join(ours) == ", ".join(listed) and ours[0] == listed[0]


@pytest.mark.parametrize(
    "name",
    [
        "endpoints",
        "partitions",
        "sdk-default-configuration",
        "_retry",
        "dynamodb/2012-08-10/service-2",
        "dynamodb/2012-08-10/endpoint-rule-set-1",
        "ssm/2014-11-06/service-2",
        "cloudwatch/2010-08-01/service-2",
        "sesv2/2019-09-27/service-2",
        "sns/2010-03-31/paginators-1",
        "lambda/2015-03-31/waiters-2",
    ],
)
def test_the_data_read_is_botocores_in_the_same_order(name: str) -> None:
    ours = ServiceDataLoader().load_data(name)
    theirs = Loader().load_data(name)
    assert type(ours) is dict and ours == theirs
    assert json.dumps(ours) == json.dumps(theirs)  # (a dict compares equal in any order)


def test_missing_data_is_missing_as_for_botocore() -> None:
    with pytest.raises(DataNotFoundError):
        ServiceDataLoader().load_data("dynamodb/2012-08-10/nothing-1")
    assert ServiceDataLoader().file_loader.load_file("/nonexistent/service-2") is None


def test_a_data_path_adds_services_as_for_botocore(tmp_path: Path) -> None:
    (tmp_path / "custom" / "2024-01-01").mkdir(parents=True)
    (tmp_path / "custom" / "2024-01-01" / "service-2.json").write_text(json.dumps({}))
    (tmp_path / "empty" / "2024-01-01").mkdir(parents=True)  # no data of that type
    listed = Loader(extra_search_paths=[str(tmp_path)]).list_available_services("service-2")
    ours = create_loader(str(tmp_path)).list_available_services("service-2")
    assert "custom" in listed and "custom" in ours
    assert "empty" not in listed and "empty" not in ours
    assert list(ours) == listed


def test_the_clients_session_uses_it_and_fails_an_unknown_service_as_botocore_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    clients.reset()
    try:
        loader = clients.session().get_component("data_loader")
        assert isinstance(loader, ServiceDataLoader)
        model = loader.load_service_model("dynamodb", "service-2")
        assert model == Loader().load_service_model("dynamodb", "service-2")
        with pytest.raises(UnknownServiceError) as caught:
            clients.client("nope")
        assert "nope" in str(caught.value) and "dynamodb" in str(caught.value)
    finally:
        clients.reset()

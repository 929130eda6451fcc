"""SSM SecureStrings as the Lambdas read them (aws/secure_parameters.py): decrypted, kept 5
minutes, so a rotated key or token is used within 5 minutes while a warm container asks SSM
at most once per 5 minutes per parameter; a failed read is never kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from releasewatch.aws import clients
from releasewatch.aws.secure_parameters import SecureParameters
from releasewatch.clock import FixedClock

REGION = "eu-west-2"
NAME = "/releasewatch/ack-secret"


class FakeSsm:
    """GetParameter from a dict, counting the calls; a missing name fails as SSM does."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[dict[str, Any]] = []

    def get_parameter(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if params["Name"] not in self.values:
            error = {"Error": {"Code": "ParameterNotFound", "Message": "not found"}}
            raise ClientError(error, "GetParameter")  # type: ignore[arg-type]
        return {"Parameter": {"Name": params["Name"], "Value": self.values[params["Name"]]}}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))


def test_a_value_is_read_decrypted_and_kept_for_five_minutes(clock: FixedClock) -> None:
    ssm = FakeSsm({NAME: "first-key"})
    reader = SecureParameters(lambda: ssm, clock)
    assert reader.read(NAME) == "first-key"
    assert ssm.calls == [{"Name": NAME, "WithDecryption": True}]
    # GIVEN the key rotated in SSM
    ssm.values[NAME] = "rotated-key"
    # THEN for 5 minutes the kept value answers, without asking SSM again...
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    assert reader.read(NAME) == "first-key"
    assert len(ssm.calls) == 1
    # ...and from 5 minutes on the rotated one is read
    clock.advance(timedelta(seconds=1))
    assert reader.read(NAME) == "rotated-key"
    assert len(ssm.calls) == 2


def test_a_missing_parameter_raises_ssms_error_every_time_until_it_exists(
    clock: FixedClock,
) -> None:
    ssm = FakeSsm({})
    reader = SecureParameters(lambda: ssm, clock)
    for _ in range(2):  # nothing failed is kept: each read asks again
        with pytest.raises(ClientError) as raised:
            reader.read(NAME)
        assert raised.value.response["Error"]["Code"] == "ParameterNotFound"
    ssm.values[NAME] = "created-key"
    assert reader.read(NAME) == "created-key"
    assert len(ssm.calls) == 3


def test_each_parameter_is_kept_apart_and_the_client_made_once(clock: FixedClock) -> None:
    ssm = FakeSsm({NAME: "key", "/releasewatch/notify-api-key": "api-key"})
    made: list[FakeSsm] = []

    def make() -> FakeSsm:
        made.append(ssm)
        return ssm

    reader = SecureParameters(make, clock)
    assert reader.read(NAME) == "key"
    assert reader.read("/releasewatch/notify-api-key") == "api-key"
    assert reader.read(NAME) == "key"
    assert len(made) == 1 and len(ssm.calls) == 2
    reader.clear()
    assert reader.read(NAME) == "key"
    assert len(made) == 2 and len(ssm.calls) == 3


def test_on_aws_the_securestring_comes_back_decrypted(aws: None, clock: FixedClock) -> None:
    ssm = clients.client("ssm")
    ssm.put_parameter(Name=NAME, Value="s3cr3t-" * 6, Type="SecureString")
    reader = SecureParameters(lambda: clients.client("ssm"), clock)
    assert reader.read(NAME) == "s3cr3t-" * 6

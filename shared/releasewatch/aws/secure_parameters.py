"""SSM SecureStrings (the ack-link key, Notify's API key and callback token), read with
Powertools Parameters: decrypted, cached 5 minutes, so a rotated value is used within minutes."""

from __future__ import annotations

MAX_AGE_SECONDS = 300


def read_secure(parameter_name: str) -> str:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    if "ssm" not in DEFAULT_PROVIDERS:
        # Powertools' own provider opens a second boto3 session, which reads botocore's endpoint
        # data again (tens of ms of a cold start); this one's client is on the default session,
        # with the DynamoDB and CloudWatch clients. Tests reset it as they would Powertools'.
        import boto3

        DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_client=boto3.client("ssm"))
    value = parameters.get_parameter(parameter_name, decrypt=True, max_age=MAX_AGE_SECONDS)
    return str(value)


def read_ack_secret(parameter_name: str) -> bytes:
    """The ack-link signing key. The poller (signing) and the API (verifying) read it the
    same way, so their bytes always agree."""
    return read_secure(parameter_name).encode()

"""Truth as a property: over generated release histories (late starts, downtime, acks, holds,
readiness asked or not, chains with and without each role, cancellations, moves), every claim
that a message (email, SMS, Teams, Slack), the board line, the release page and the breach
report makes is backed by the event log and the chain (the oracle: truth_oracle.py).

The default run is short (TRUTH_EXAMPLES, default 30: about 25 s); `TRUTH_EXAMPLES=2000` runs
thousands."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.property.truth_history import Plan, plans, run
from tests.property.truth_oracle import check_history

EXAMPLES = int(os.environ.get("TRUTH_EXAMPLES", "30"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=plans())
@pytest.mark.slow
def test_every_rendered_claim_is_backed_by_the_event_log_and_the_chain(plan: Plan) -> None:
    check_history(run(plan))

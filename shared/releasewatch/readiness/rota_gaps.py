"""Rota gaps: when a chain step or a readiness reminder names a rota with nobody on call.

Its own module, above both rota.py (who is on call) and policy.py (when the reminder is):
policy.py asks rota.py who to reach, so rota.py must not ask policy.py back.
"""

from __future__ import annotations

from datetime import datetime

from ..model import Release
from . import policy as readiness
from .rota import on_call


def gap_times(release: Release) -> list[tuple[datetime, str]]:
    """(instant, rota id) for every chain step and readiness reminder naming a rota that has
    nobody on call then."""
    wanted: list[tuple[datetime, str]] = []
    for step in release.steps:
        wanted += [(release.due + step.after, cid) for cid in step.notify]
    plan = readiness.schedule(release)
    if plan is not None and release.readiness is not None:
        wanted += [(plan.remind, cid) for cid in release.readiness.notify]
    out = []
    for at, cid in wanted:
        contact = release.contacts.get(cid)
        if contact is not None and contact.rota is not None and not on_call(contact.rota, at):
            out.append((at, cid))
    return sorted(dict.fromkeys(out))

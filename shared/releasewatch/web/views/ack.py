"""The words of the acknowledge pages: what pressing the button holds, and what it never holds.

"Later alert steps are held until 10:11" is said only when a later alert step really falls
inside the hold (AckResult.held_steps, from acks/holds.py); the breach notice is named with the
people its steps really tell, and not mentioned for a chain that has none.
"""

from __future__ import annotations

from ...acks.by_link import AckResult
from ...model import Release
from ...timefmt import uk_time
from .ladder import name_of


def breach_never_held(release: Release | None) -> str:
    """'The breach notice to Charlie Head is never held.', or '' for a chain without one."""
    if release is None:
        return ""
    names = [name_of(release, c) for c in release.breach_contacts()]
    if not names:
        return ""
    who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"The breach notice to {who} is never held."


def will_hold(result: AckResult) -> str:
    """What acknowledging (the GET page, before the button) will hold."""
    hold = uk_time(result.hold_until) if result.hold_until else ""
    if result.held_steps:
        return (
            f"holds the later alert steps until {hold}. If the page is still not live then, "
            "escalation resumes."
        )
    return f"holds nothing else: no later alert step falls before {hold}."


def holds(result: AckResult) -> str:
    """What the acknowledgement just recorded (or still running) holds."""
    hold = uk_time(result.hold_until) if result.hold_until else ""
    if result.held_steps:
        return (
            f"Later alert steps are held until {hold}; if the page is still not live then, "
            "escalation resumes."
        )
    return f"No later alert step falls before {hold}, so nothing else is held."

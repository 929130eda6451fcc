"""The `politeness:` block: requests per second per host, and when to ask the public path.

    politeness:
      requests_per_second:      # across every release; merged over the defaults
        www.gov.uk: 50
        www.ons.gov.uk: 10
        statistics.example.gov.uk: 5
      public_path: fallback     # fallback (origin not live; see docs), always, off

A host not named (and not a default) is not limited. See docs/configuration.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..probe.budget import DEFAULT_RATES, site_of

MAX_RATE = 1000.0  # requests per second: more than this is a typo, not politeness


class PolitenessIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_second: dict[str, float] = Field(default_factory=dict)
    public_path: Literal["fallback", "always", "off"] = "fallback"

    @field_validator("requests_per_second")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        for host, rate in v.items():
            if not host or "/" in host or ":" in host or " " in host:
                raise ValueError(f"{host!r}: expected a host name such as www.gov.uk")
            if not 0 < rate <= MAX_RATE:
                raise ValueError(
                    f"{host}: expected requests per second above 0 and at most {MAX_RATE:g}"
                )
        return v

    def host_rates(self) -> dict[str, float]:
        """The defaults with this block's hosts over them (www. and case ignored)."""
        rates = {site_of(h): r for h, r in DEFAULT_RATES.items()}
        rates.update({site_of(h): r for h, r in self.requests_per_second.items()})
        return rates

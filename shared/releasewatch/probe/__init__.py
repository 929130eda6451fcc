"""Probing release pages: cache-busting, the SSRF guard, live rules, GOV.UK mode."""

from .base import Prober
from .http import DEFAULT_USER_AGENT, HttpProber, ProbeSettings
from .netguard import Resolver, StaticResolver, SystemResolver
from .rules import GovukVerdict, Verdict, judge_govuk, judge_page

__all__ = [
    "DEFAULT_USER_AGENT",
    "GovukVerdict",
    "HttpProber",
    "ProbeSettings",
    "Prober",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "Verdict",
    "judge_govuk",
    "judge_page",
]

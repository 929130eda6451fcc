"""The ONS live rule: an ONS release page is live only once it says it is published.

Used for every page on the ONS website (probe.rules.default_rule) and for releases the ONS
calendar imports (calendar.ons); it lives here, below both, so neither imports the other.
"""

from __future__ import annotations

from ..model import LiveRule

# Two generations of ONS release page, both 200 in every state; the rule below fails every
# state of both but published.
# - ONSdigital/dp-frontend-release-calendar (the current site): release.tmpl states the page's
#   publication state (mapper/publication_state.go: "published", "upcoming" or "cancelled") in
#   data-gtm-release-status on the page's container; status-header.tmpl shows the banners
#   (wording from assets/locales/service.en.toml). A postponed release's banner is its change
#   notice, free text that a published page lists too: only the attribute gives it away.
# - ONSdigital/dis-wagtail (the new CMS, which the old pages redirect to once migrated, via
#   their MigrationLink): templates/pages/release_calendar/release_calendar_page--*.html has no
#   such attribute; provisional and confirmed (postponed included) pages say "This release is
#   not yet published", a cancelled one "Release date: Cancelled" and its notice.
# So: no upcoming or cancelled state in the markup, none of the banners, and the title shown.
NOT_PUBLISHED_MARKUP: tuple[str, ...] = (
    'data-gtm-release-status="upcoming"',
    'data-gtm-release-status="cancelled"',
)
ONS_NOT_LIVE_WORDING: tuple[str, ...] = (
    "This release is not yet published",  # StatusBannerReleaseNotYetPublished; Wagtail too
    "This release has been postponed",  # StatusBannerReleasePostponed
    "This release has been cancelled",  # StatusBannerReleaseCancelled
    "Release date: Cancelled",  # ReleaseStatusLineCancelled; Wagtail's cancelled hero
    "Provisional release date",  # ReleaseStatusLineProvisionalReleaseDate
)


def ons_rule(title: str) -> LiveRule:
    """Live only on the published release page: the title shown, no upcoming, postponed or
    cancelled banner, and no upcoming or cancelled state in the page's markup."""
    return LiveRule(
        contains=(title,), not_contains=ONS_NOT_LIVE_WORDING, not_markup=NOT_PUBLISHED_MARKUP
    )

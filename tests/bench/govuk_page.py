"""A GOV.UK-sized statistics publication page for the benchmarks (about 100 KB of HTML).

Shaped like a real one (alphagov/frontend's layout_for_public and a statistics publication): a
head with font preloads, JSON-LD and inline script, the super navigation header's link lists,
the title in the h1 under its caption, sections of text and tables, and the footer's links.
"""

from __future__ import annotations


def govuk_page(title: str, size: int = 100 * 1024) -> bytes:
    """A GOV.UK-like statistics publication page of about `size` bytes, title in its h1."""
    head = (
        '<!DOCTYPE html><html lang="en" class="govuk-template"><head><meta charset="utf-8">'
        f"<title>{title} - GOV.UK</title>"
        + "".join(
            f'<link rel="preload" href="/assets/static/govuk-frutiger-{i}.woff2" as="font">'
            for i in range(20)
        )
        + '<script type="application/ld+json">{"@context":"http://schema.org","@type":"Article",'
        + '"headline":"'
        + title
        + '","description":"'
        + "Estimates of employment. " * 40
        + '"}'
        + "</script><script>"
        + "window.GOVUK=window.GOVUK||{};" * 200
        + "</script></head>"
    )
    nav = (
        '<body class="govuk-template__body"><a href="#main-content" class="govuk-skip-link">Skip '
        'to main content</a><header class="gem-c-layout-super-navigation-header"><nav><ul>'
        + "".join(
            f'<li class="gem-c-layout-super-navigation-header__dropdown-list-item">'
            f'<a class="govuk-link" href="/browse/topic-{i}">Topic number {i}</a></li>'
            for i in range(120)
        )
        + "</ul></nav></header>"
    )
    main = (
        '<main class="govuk-main-wrapper" id="main-content"><div class="gem-c-heading">'
        '<span class="govuk-caption-xl">Official Statistics</span>'
        f'<h1 class="gem-c-heading__text govuk-heading-l">{title}</h1></div>'
        '<p class="gem-c-lead-paragraph">Estimates of employment, unemployment and economic '
        "inactivity &amp; other labour market statistics.</p>"
    )
    footer = (
        '<footer class="govuk-footer"><ul>'
        + "".join(
            f'<li><a class="govuk-footer__link" href="/f/{i}">Footer link {i}</a></li>'
            for i in range(80)
        )
        + "</ul>&copy; Crown copyright</footer></body></html>"
    )
    section = (
        '<section class="gem-c-attachment"><h2 class="govuk-heading-m">Main points</h2>'
        '<p class="govuk-body">The UK employment rate was estimated at 75.0%, higher than a '
        "year earlier but largely unchanged in the latest quarter.&nbsp;The unemployment rate "
        'was estimated at 4.2%.</p><table class="govuk-table"><tr><th>Measure</th><th>Rate'
        "</th></tr><tr><td>Employment</td><td>75.0%</td></tr><tr><td>Unemployment</td><td>4.2%"
        "</td></tr></table></section>"
    )
    page = head + nav + main
    body_room = size - len(page) - len(footer) - len("</main>")
    page += section * max(0, body_room // len(section)) + "</main>" + footer
    return page.encode()

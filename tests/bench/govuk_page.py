"""A GOV.UK-sized statistics publication page for the benchmarks (about 100 KB of HTML).

Shaped like a real one (alphagov/frontend's layout_for_public and a statistics publication): a
head with font preloads, a stylesheet, GOV.UK's `govuk:` meta tags (govuk_publishing_components
presenters/meta_tags.rb: a publication's fifteen or so), JSON-LD and inline script; the cookie
banner with its hidden confirmation, the super navigation header's link lists with their
visually hidden labels, the title in the h1 under its caption, sections of text and tables,
the feedback component with its two hidden forms (components/feedback), and the footer's links.
So reading it costs what a real page's elements cost: hidden ones taken out, meta tags read.
"""

from __future__ import annotations


def govuk_page(title: str, size: int = 100 * 1024, first_published: str | None = None) -> bytes:
    """A GOV.UK-like statistics publication page of about `size` bytes, title in its h1;
    `first_published` (ISO 8601) gives it govuk:first-published-at and public-updated-at,
    which date its edition (page.py), else it has neither."""
    dated = (
        f'<meta name="govuk:first-published-at" content="{first_published}">'
        f'<meta name="govuk:updated-at" content="{first_published}">'
        f'<meta name="govuk:public-updated-at" content="{first_published}">'
        if first_published
        else ""
    )
    head = (
        '<!DOCTYPE html><html lang="en" class="govuk-template"><head><meta charset="utf-8">'
        f"<title>{title} - GOV.UK</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">'
        '<meta name="theme-color" content="#0b0c0c">'
        '<link rel="stylesheet" href="/assets/frontend/application-3e1c2a.css">'
        + "".join(
            f'<link rel="preload" href="/assets/static/govuk-frutiger-{i}.woff2" as="font">'
            for i in range(20)
        )
        + "".join(
            f'<meta name="govuk:{name}" content="{content}">'
            for name, content in (
                ("format", "official_statistics"),
                ("publishing-application", "whitehall"),
                ("schema-name", "publication"),
                ("content-id", "5d7c8e3a-7631-11e4-a3cb-005056011aef"),
                ("navigation-page-type", "Taxon Page"),
                ("primary-publishing-organisation", "Office for National Statistics"),
                ("analytics:organisations", "<D303>"),
                ("political-status", "non-political"),
                ("publishing-government", "2024-labour-government"),
                ("themes", "business-and-industry"),
                ("taxon-id", "a1d7e8a2-0f9a-4b5e-9c3e-0d3a4c0f1b2c"),
                ("taxon-slug", "labour-market"),
            )
        )
        + dated
        + '<meta name="twitter:card" content="summary">'
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
    cookies = (
        '<div id="global-cookie-message" class="gem-c-cookie-banner govuk-clearfix" '
        'data-module="cookie-banner" data-nosnippet role="region" aria-label="Cookies on GOV.UK" '
        'hidden><div class="govuk-cookie-banner__message govuk-width-container" role="alert">'
        '<h2 class="govuk-cookie-banner__heading govuk-heading-m">Cookies on GOV.UK</h2>'
        '<p class="govuk-body">We use some essential cookies to make this website work.</p>'
        '<button class="govuk-button" type="submit">Accept additional cookies</button></div>'
        '<div class="gem-c-cookie-banner__confirmation govuk-width-container" tabindex="-1" '
        'hidden><p class="gem-c-cookie-banner__confirmation-message" role="alert">You can '
        '<a class="govuk-link" href="/help/cookies">change your cookie settings</a> at any '
        "time.</p></div></div>"
    )
    nav = (
        '<body class="govuk-template__body"><script nonce="b5ZtR0x9">document.body.className += '
        "' js-enabled';</script>"
        + cookies
        + '<a href="#main-content" class="govuk-skip-link">Skip to main content</a>'
        '<header class="gem-c-layout-super-navigation-header"><nav><ul>'
        + "".join(
            f'<li class="gem-c-layout-super-navigation-header__dropdown-list-item">'
            f'<a class="govuk-link" href="/browse/topic-{i}">Topic number {i}'
            f'<span class="govuk-visually-hidden"> (topic)</span></a></li>'
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
    feedback = (
        '<div class="gem-c-feedback govuk-!-display-none-print" data-module="feedback">'
        '<div class="gem-c-feedback__prompt gem-c-feedback__js-show js-prompt" tabindex="-1">'
        '<h2 class="gem-c-feedback__prompt-question">Is this page useful?</h2>'
        '<button class="govuk-button">Yes <span class="govuk-visually-hidden">this page is '
        "useful</span></button></div>"
        '<form action="/contact/govuk/problem_reports" id="something-is-wrong" '
        'class="gem-c-feedback__form js-feedback-form" method="post" hidden>'
        '<div class="gem-c-feedback__error-summary js-errors" tabindex="-1" hidden></div>'
        '<h3 class="gem-c-feedback__form-heading">Help us improve GOV.UK</h3>'
        '<p class="gem-c-feedback__form-paragraph">Don\'t include personal or financial '
        "information like your National Insurance number or credit card details.</p>"
        '<label class="govuk-label" for="what_doing">What were you doing?</label>'
        '<textarea name="what_doing" id="what_doing" rows="3"></textarea></form>'
        '<form action="/contact/govuk/email-survey-signup" id="page-is-not-useful" '
        'class="gem-c-feedback__form js-feedback-form" method="post" hidden>'
        '<h3 class="gem-c-feedback__form-heading">Help us improve GOV.UK</h3>'
        '<p class="gem-c-feedback__form-paragraph">To help us improve GOV.UK, we\'d like to '
        "know more about your visit today.</p></form></div>"
    )
    footer = (
        feedback
        + '<footer class="govuk-footer"><ul>'
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

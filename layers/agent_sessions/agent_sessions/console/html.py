"""HTML pieces for the console: escaping, the page frame, window bars, money and times.

No inline script or style anywhere (the Content-Security-Policy forbids both): bars are SVG
rectangles sized by attributes, colours come from console.css, countdowns from console.js.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from urllib.parse import quote

from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.records import WindowState, format_timestamp

ASSET_VERSION = "2"  # bump when console.css or console.js change (they are cached for a day)


def text(value: object) -> str:
    """Any value as escaped HTML text (`-` for nothing).

    Each character Unicode does not call printable is shown as its escape (`\\u202e`, `\\x1b`), as
    the CLI shows it: agent ids, wallets, merchants and descriptions are any non-blank text, and a
    bidirectional override in one would reverse what the operator reads after it (an amount, an id).
    """
    if value is None:
        return "-"
    shown = str(value)
    if not shown.isprintable():
        shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown)
    return escape(shown, quote=True)


def money(cents: int) -> str:
    return f"${cents_to_dollars(cents):,.2f}"


def link(href: str, label: str) -> str:
    return f'<a href="{text(href)}">{text(label)}</a>'


def path_part(value: str) -> str:
    """An id as it may appear in a console path."""
    return quote(value, safe="")


def countdown(moment: datetime | None, now: datetime) -> str:
    """`in 23 h 5 min` that console.js keeps counting down (or up: `4 min ago`)."""
    if moment is None:
        return "-"
    iso = format_timestamp(moment)
    return f'<time datetime="{iso}" data-countdown>{relative(moment, now)}</time>'


def relative(moment: datetime, now: datetime) -> str:
    seconds = int((moment - now).total_seconds())
    size = abs(seconds)
    if size < 60:
        amount = f"{size} s"
    elif size < 3600:
        amount = f"{size // 60} min"
    elif size < 2 * 86400:
        amount = f"{size // 3600} h {size % 3600 // 60} min"
    else:
        amount = f"{size // 86400} d"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def window_bar(name: str, window: WindowState, now: datetime) -> str:
    """One window as a bar: spent, then held, then what remains of the limit; its numbers beside it."""
    limit = max(window.limit_cents, 1)
    spent = min(Decimal(window.spent_cents) * 100 / limit, Decimal(100))
    held = min(Decimal(window.held_cents) * 100 / limit, Decimal(100) - spent)
    label = (
        f"{name}: {money(window.spent_cents)} spent, {money(window.held_cents)} held, "
        f"{money(window.remaining_cents)} left of {money(window.limit_cents)}"
    )
    return (
        f'<div class="window" data-window="{text(name.lower())}">'
        f'<div class="window-head"><span class="window-name">{text(name)}</span>'
        f'<span class="window-left">{money(window.remaining_cents)} left of {money(window.limit_cents)}</span></div>'
        f'<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="{text(label)}">'
        f'<rect class="bar-rest" x="0" y="0" width="100" height="6"></rect>'
        f'<rect class="bar-spent" x="0" y="0" width="{spent:.2f}" height="6"></rect>'
        f'<rect class="bar-held" x="{spent:.2f}" y="0" width="{held:.2f}" height="6"></rect></svg>'
        f'<div class="window-foot">{money(window.spent_cents)} spent · {money(window.held_cents)} held · '
        f"resets {countdown(window.resets_at, now)}</div></div>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{text(token)}">'


def post_button(action: str, label: str, csrf: str, css: str = "") -> str:
    """A button that POSTs to `action` with the CSRF token (a form of its own)."""
    return (
        f'<form method="post" action="{text(action)}" class="inline">{csrf_field(csrf)}'
        f'<button type="submit" class="{text(css)}">{text(label)}</button></form>'
    )


NAV = (
    ("sessions", "/console/sessions", "Sessions"),
    ("approvals", "/console/approvals", "Approvals"),
    ("webhooks", "/console/webhooks", "Webhooks"),
    ("analytics", "/console/analytics", "Analytics"),
)


def frame(
    title: str,
    body: str,
    *,
    current: str = "",
    pages: tuple[str, ...] = (),
    account: str | None = None,
    csrf: str | None = None,
    refresh_seconds: int | None = None,
    notice: str | None = None,
) -> str:
    """A whole page: head (stylesheet, script, optional refresh), navigation, notice, content."""
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    nav = "".join(
        f'<a href="{href}"{" aria-current=page" if key == current else ""}>{label}</a>'
        for key, href, label in NAV
        if key in pages
    )
    who = ""
    if account and csrf:
        who = f'<span class="account">{text(account)}</span>{post_button("/console/logout", "Sign out", csrf, "quiet")}'
    shown = f'<p class="notice" role="status">{text(notice)}</p>' if notice else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)} · agent-sessions</title>{refresh}"
        '<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="/console/static/console.css?v={ASSET_VERSION}">'
        f'<script src="/console/static/console.js?v={ASSET_VERSION}" defer></script></head>'
        f'<body><header><a class="brand" href="/console">agent-sessions</a><nav>{nav}</nav>'
        f'<div class="who">{who}</div></header><main><h1>{text(title)}</h1>{shown}{body}</main></body></html>'
    )

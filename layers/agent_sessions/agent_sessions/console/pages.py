"""The console's pages, rendered from the records the service functions return (no data path of their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent_sessions.console.html import (
    countdown,
    csrf_field,
    frame,
    link,
    money,
    path_part,
    post_button,
    text,
    window_bar,
)
from agent_sessions.domain.records import PaymentRecord, SessionRecord, format_timestamp
from agent_sessions.domain.webhook_records import WebhookRecord
from agent_sessions.domain.windows import WINDOW_KINDS

APPROVALS_REFRESH_SECONDS = 10


@dataclass(frozen=True)
class PageContext:
    """Who is signed in, what they may see and do, and a notice to show once."""

    account: str
    csrf: str
    pages: tuple[str, ...]
    can_revoke: bool = False
    can_decide: bool = False
    notice: str | None = None

    def page(self, title: str, body: str, current: str, refresh: int | None = None) -> str:
        return frame(
            title,
            body,
            current=current,
            pages=self.pages,
            account=self.account,
            csrf=self.csrf,
            refresh_seconds=refresh,
            notice=self.notice,
        )


def login_page(error: str | None = None) -> str:
    body = (
        '<form method="post" action="/console/login" class="card login">'
        '<label for="key">API key</label>'
        '<input id="key" name="key" type="password" autocomplete="off" required '
        'placeholder="zfi_test_… or an agent key zai_test_…">'
        '<button type="submit">Sign in</button>'
        "<p class=hint>The key is kept in an HttpOnly cookie for this console only; it never appears in a page "
        "or a URL. An agent key shows and allows only what its scopes do.</p></form>"
    )
    return frame("Sign in", body, notice=error)


def message_page(title: str, message: str, context: PageContext | None = None) -> str:
    body = f'<p class="card">{text(message)}</p>'
    return context.page(title, body, "") if context else frame(title, body)


def sessions_page(
    sessions: list[SessionRecord], filters: dict[str, str], more: bool, now: datetime, context: PageContext
) -> str:
    status = filters.get("status", "all")
    options = "".join(
        f'<option value="{value}"{" selected" if value == status else ""}>{label}</option>'
        for value, label in (("all", "All"), ("active", "Live only"))
    )
    form = (
        '<form method="get" action="/console/sessions" class="filters">'
        f'<label>Status <select name="status">{options}</select></label>'
        f'<label>Agent <input name="agent_id" value="{text(filters.get("agent_id", ""))}"></label>'
        f'<label>Wallet <input name="user_wallet" value="{text(filters.get("user_wallet", ""))}"></label>'
        '<button type="submit">Filter</button></form>'
    )
    cards = "".join(_session_card(session, now) for session in sessions) or '<p class="empty">No sessions.</p>'
    tail = '<p class="hint">Showing the 50 newest; filter to narrow.</p>' if more else ""
    return context.page("Sessions", form + f'<div class="cards">{cards}</div>{tail}', "sessions")


def window_bars(session: SessionRecord, now: datetime) -> str:
    """The session's day, week and month, each as a bar."""
    windows = session.windows(now)
    return "".join(window_bar(kind.capitalize(), windows[kind], now) for kind in WINDOW_KINDS)


def _session_card(session: SessionRecord, now: datetime) -> str:
    status = session.status_at(now)
    bars = window_bars(session, now)
    ends = "expires" if status in ("active", "paused", "pending_consent") else "ended"
    return (
        f'<article class="card session" data-session="{text(session.id)}">'
        f'<div class="card-head"><a class="title" href="/console/sessions/{path_part(session.id)}">'
        f"{text(session.agent_name or session.agent_id)}</a>"
        f'<span class="status status-{text(status)}">{text(status)}</span></div>'
        f'<dl class="facts"><dt>Agent</dt><dd>{text(session.agent_id)}</dd>'
        f"<dt>Wallet</dt><dd>{text(session.user_wallet)}</dd>"
        f"<dt>{ends.capitalize()}</dt><dd>{countdown(session.ended_at, now)}</dd></dl>{bars}</article>"
    )


def session_page(
    session: SessionRecord,
    ledger: list[PaymentRecord],
    attestation: bool | None,
    now: datetime,
    context: PageContext,
) -> str:
    status = session.status_at(now)
    limits = "".join(
        f"<dt>{text(name.replace('_', ' '))}</dt><dd>{money(cents)}</dd>"
        for name, cents in session.limits_cents.items()
    )
    velocity = "".join(
        f"<dt>payments {text(name.replace('_', ' '))}</dt><dd>{count}</dd>" for name, count in session.velocity.items()
    )
    identity = "<dd>none (created without mint_pkp)</dd>"
    if session.pkp_address:
        verdict = {True: "signature verified", False: "signature does NOT verify", None: "not signed yet"}[attestation]
        verdict_class = f"verdict-{str(attestation).lower()}"
        identity = f'<dd><code>{text(session.pkp_address)}</code> · <span class="{verdict_class}">{verdict}</span></dd>'
    revoke = ""
    if context.can_revoke and session.is_active_at(now):
        revoke = f'<a class="button danger" href="/console/sessions/{path_part(session.id)}/revoke">Revoke…</a>'
    bars = window_bars(session, now)
    body = (
        f'<section class="card"><div class="card-head">'
        f'<span class="status status-{text(status)}">{text(status)}</span>{revoke}</div>'
        f'<dl class="facts"><dt>Session</dt><dd><code>{text(session.id)}</code></dd>'
        f"<dt>Agent</dt><dd>{text(session.agent_id)}</dd><dt>Wallet</dt><dd>{text(session.user_wallet)}</dd>"
        f"<dt>Created</dt><dd>{countdown(session.created_at, now)}</dd>"
        f"<dt>{'Expires' if session.is_active_at(now) else 'Ended'}</dt><dd>{countdown(session.ended_at, now)}</dd>"
        f"<dt>Merchants</dt><dd>{text(', '.join(session.allowed_merchants or ['any']))}</dd>"
        f"<dt>Identity</dt>{identity}</dl></section>"
        f'<section class="card"><h2>Windows</h2>{bars}<dl class="facts">{limits}{velocity}</dl></section>'
        f'<section class="card"><h2>Payments</h2>{_ledger(ledger, session, now)}</section>'
    )
    return context.page(session.agent_name or session.agent_id, body, "sessions")


def _ledger(ledger: list[PaymentRecord], session: SessionRecord, now: datetime) -> str:
    if not ledger:
        return '<p class="empty">No payments yet.</p>'
    rows = []
    for payment in ledger:
        status = payment.status_at(now, session.ended_at)
        why = ""
        if payment.decline is not None:
            rule = payment.decline.details.get("limit") or payment.decline.code
            why = f'<span class="rule">{text(rule)}</span> {text(payment.decline.message)}'
        rows.append(
            f'<tr class="payment status-{text(status)}"><td data-label="When">{countdown(payment.created_at, now)}</td>'
            f'<td data-label="Amount" class="num">{money(payment.amount_cents)}</td>'
            f'<td data-label="Merchant">{text(payment.merchant_id)}</td>'
            f'<td data-label="Status"><span class="status status-{text(status)}">{text(status)}</span></td>'
            f'<td data-label="Why">{why or text(payment.description)}</td></tr>'
        )
    head = "<tr><th>When</th><th>Amount</th><th>Merchant</th><th>Status</th><th>Why / description</th></tr>"
    return f'<table class="ledger"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def revoke_page(session: SessionRecord, context: PageContext) -> str:
    action = f"/console/sessions/{path_part(session.id)}/revoke"
    body = (
        f'<form method="post" action="{text(action)}" class="card confirm">{csrf_field(context.csrf)}'
        f"<p>Revoke <strong>{text(session.agent_name or session.agent_id)}</strong>'s session "
        f"<code>{text(session.id)}</code>? It stops paying at once and its holds are released. "
        "This cannot be undone.</p>"
        f'<button type="submit" class="danger">Revoke the session</button> '
        f"{link(f'/console/sessions/{path_part(session.id)}', 'Cancel')}</form>"
    )
    return context.page("Revoke a session", body, "sessions")


def approvals_page(pending: list[tuple[PaymentRecord, SessionRecord]], now: datetime, context: PageContext) -> str:
    rows = []
    for payment, session in pending:
        who = session.agent_name or session.agent_id
        buttons = ""
        if context.can_decide:
            base = f"/console/payments/{path_part(payment.id)}"
            buttons = post_button(f"{base}/approve", "Approve", context.csrf, "approve") + post_button(
                f"{base}/reject", "Reject", context.csrf, "danger reject"
            )
        rows.append(
            f'<article class="card approval" data-payment="{text(payment.id)}">'
            f'<div class="card-head"><span class="amount">{money(payment.amount_cents)}</span>'
            f'<span class="merchant">{text(payment.merchant_id)}</span></div>'
            f'<dl class="facts"><dt>Session</dt><dd>{link(f"/console/sessions/{path_part(session.id)}", who)}</dd>'
            f"<dt>Asked</dt><dd>{countdown(payment.created_at, now)}</dd>"
            f"<dt>Lapses</dt><dd>{countdown(payment.lapses_at(session.ended_at), now)}</dd>"
            f"<dt>For</dt><dd>{text(payment.description)}</dd></dl>"
            f'<div class="actions">{buttons}</div></article>'
        )
    body = "".join(rows) or '<p class="empty">Nothing awaits approval.</p>'
    hint = f'<p class="hint">Oldest first; this list refreshes every {APPROVALS_REFRESH_SECONDS} s.</p>'
    return context.page("Approvals", hint + f'<div class="cards">{body}</div>', "approvals", APPROVALS_REFRESH_SECONDS)


def webhooks_page(webhooks: list[WebhookRecord], dead_letters: int | None, now: datetime, context: PageContext) -> str:
    waiting = "unknown" if dead_letters is None else str(dead_letters)
    summary = (
        '<p class="card">Events waiting in the dead-letter queue: '
        f'<strong class="dead-letters">{text(waiting)}</strong></p>'
    )
    rows = []
    for webhook in webhooks:
        events = ", ".join(webhook.events) if webhook.events is not None else "every event"
        state = "disabled" if webhook.disabled_at else "active"
        last = webhook.last_delivery or {}
        delivered = f"{text(last.get('outcome'))} · {text(last.get('at'))}" if last else "none yet"
        rows.append(
            f'<tr class="webhook"><td data-label="URL"><code>{text(webhook.url)}</code></td>'
            f'<td data-label="Events">{text(events)}</td>'
            f'<td data-label="State"><span class="status status-{state}">{state}</span></td>'
            f'<td data-label="Last delivery" class="last-delivery">{delivered}</td></tr>'
        )
    table = (
        '<table class="ledger"><thead><tr><th>URL</th><th>Events</th><th>State</th><th>Last delivery</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="empty">No webhook endpoints.</p>'
    )
    return context.page("Webhooks", summary + f'<section class="card">{table}</section>', "webhooks")


def _day_chart(label: str, values: list[tuple[str, int, str]], css: str) -> str:
    """Bars per day (oldest on the left), each titled with what it shows."""
    top = max((value for _, value, _ in values), default=0) or 1
    width = 100 / max(len(values), 1)
    bars = "".join(
        f'<rect class="{css}" x="{index * width:.2f}" y="{100 - value * 100 / top:.2f}" '
        f'width="{width * 0.8:.2f}" height="{value * 100 / top:.2f}"><title>{text(day)}: {text(shown)}</title></rect>'
        for index, (day, value, shown) in enumerate(values)
    )
    return (
        f"<h2>{text(label)}</h2>"
        '<svg class="chart" viewBox="0 0 100 100" preserveAspectRatio="none" role="img" '
        f'aria-label="{text(label)}">{bars}</svg>'
    )


def analytics_page(days: list[tuple[str, int, int]], totals: dict[str, str], context: PageContext) -> str:
    """`days`: (date, payments, volume in cents), oldest first."""
    volume = _day_chart("Volume per day", [(day, cents, money(cents)) for day, _, cents in days], "bar-spent")
    counts = _day_chart("Payments per day", [(day, count, f"{count} payments") for day, count, _ in days], "bar-held")
    facts = "".join(f"<dt>{text(name)}</dt><dd>{text(value)}</dd>" for name, value in totals.items())
    rows = "".join(
        f'<tr><td data-label="Day">{text(day)}</td><td data-label="Payments" class="num">{count}</td>'
        f'<td data-label="Volume" class="num">{money(cents)}</td></tr>'
        for day, count, cents in reversed(days)
        if count or cents
    )
    head = "<tr><th>Day</th><th>Payments</th><th>Volume</th></tr>"
    table = f'<table class="ledger"><thead>{head}</thead><tbody>{rows}</tbody></table>'
    span = f"{days[0][0]} → {days[-1][0]}" if days else ""
    body = (
        f'<section class="card"><dl class="facts">{facts}</dl><p class="hint">{text(span)}</p></section>'
        f'<section class="card">{volume}{counts}{table}</section>'
    )
    return context.page("Analytics", body, "analytics")


def timestamp(moment: datetime) -> str:
    return format_timestamp(moment)

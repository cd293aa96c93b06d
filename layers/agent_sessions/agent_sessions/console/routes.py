"""The console's requests: who is signed in, what they may see, and which service function answers.

Every page is built from the API's own service functions (`logic.*`) over the same store; an
agent key is metered and scoped exactly as on the API, by the API route each page stands for.
"""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlencode

from agent_sessions.console import pages
from agent_sessions.console.pages import PageContext
from agent_sessions.console.requests import Request
from agent_sessions.console.security import (
    SECURITY_HEADERS,
    csrf_ok,
    csrf_token,
    key_from_cookies,
    same_origin,
    sign_in_cookie,
    sign_out_cookie,
)
from agent_sessions.dal.analytics_ports import AnalyticsStore
from agent_sessions.dal.decision_ports import SessionDecider
from agent_sessions.dal.ports import (
    AccountPaymentLister,
    AgentKeyStore,
    CredentialStore,
    DeclineLister,
    PaymentStore,
    SessionFilter,
    SessionStore,
    WebhookStore,
)
from agent_sessions.domain.credentials import PAYMENT_ID_SHAPE, SESSION_ID_SHAPE
from agent_sessions.domain.errors import DomainError, InvalidState, NotFound
from agent_sessions.domain.held_decisions import with_decision_of
from agent_sessions.domain.records import Caller
from agent_sessions.domain.scopes import ROUTE_SCOPES
from agent_sessions.infra.observability import logger
from agent_sessions.logic import (
    account_payments,
    agent_keys,
    analytics,
    payment_decisions,
    payments,
    sessions,
    webhooks,
)

# Each page and action, and the API route whose scope it needs (an agent key is checked against it).
PAGE_ROUTES = {
    "sessions": "GET /api/v1/ai/sessions",
    "session": "GET /api/v1/ai/sessions/{id}",
    "revoke": "POST /api/v1/ai/sessions/{id}/revoke",
    "approvals": "GET /api/v1/payments",
    "decide": "POST /api/v1/payments/{id}/approve",
    "webhooks": "GET /api/v1/webhooks",
    "analytics": "GET /api/v1/analytics/agents",
}
_ID = re.compile(f"^(?:{SESSION_ID_SHAPE}|{PAYMENT_ID_SHAPE})$")
_NOTICES = {
    "approved": "Approved {id}.",
    "rejected": "Rejected {id}.",
    "revoked": "Revoked {id}.",
    "not_pending": "{id} no longer awaits approval.",
    "not_live": "{id} had already ended.",
}
_ASSETS = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


class ConsoleStore(
    CredentialStore,
    SessionStore,
    PaymentStore,
    SessionDecider,
    DeclineLister,
    AccountPaymentLister,
    WebhookStore,
    AnalyticsStore,
    AgentKeyStore,
    Protocol,
):
    """Everything the console's pages read and do, through the API's own store Protocols."""


def answer(
    event: dict[str, Any], store: ConsoleStore, now: datetime, dead_letters: int | None = None
) -> dict[str, Any]:
    """The proxy result for one console request; never a stack trace."""
    request = Request(event)
    try:
        return _route(request, store, now, dead_letters)
    except Exception:
        logger.exception("console request failed")
        return _html(500, pages.message_page("Something went wrong", "Something went wrong on our side; try again."))


def _route(request: Request, store: ConsoleStore, now: datetime, dead_letters: int | None) -> dict[str, Any]:
    parts = request.path.removeprefix("/console").strip("/").split("/")
    if parts[0] == "static" and len(parts) == 2 and request.method == "GET":
        return _asset(parts[1])
    if parts[0] == "login":
        return _login(request, store)
    key = key_from_cookies(request.cookies)
    caller = _signed_in(store, key)
    if key is None or caller is None:
        return _redirect("/console/login", cookie=sign_out_cookie(request.host) if key else None)
    return _signed_in_route(parts, request, store, caller, key, now, dead_letters)


def _signed_in_route(
    parts: list[str],
    request: Request,
    store: ConsoleStore,
    caller: Caller,
    key: str,
    now: datetime,
    dead_letters: int | None,
) -> dict[str, Any]:
    """A signed-in operator's request: its POSTs checked for CSRF first."""
    if request.method == "POST" and not _genuine_post(request, key):
        refused = "This request did not come from the console (no valid CSRF token)."
        return _html(403, pages.message_page("Refused", refused))
    if parts == ["logout"] and request.method == "POST":
        return _redirect("/console/login", cookie=sign_out_cookie(request.host))
    context = _context(caller, key, request)
    if parts == [""]:  # the console's root: the first page this key may see
        return _first_page(context)
    return _page(parts, request, store, caller, context, now, dead_letters)


def _genuine_post(request: Request, key: str) -> bool:
    """A POST from the console's own pages: the sign-in's CSRF token, and no other site's Origin."""
    return csrf_ok(key, request.form.get("csrf")) and same_origin(request.headers.get("origin"), request.host)


def _first_page(context: PageContext) -> dict[str, Any]:
    if not context.pages:
        return _html(403, pages.message_page("Nothing to show", "This key's scopes allow no page of the console."))
    return _redirect(f"/console/{context.pages[0]}")


def _page(
    parts: list[str],
    request: Request,
    store: ConsoleStore,
    caller: Caller,
    context: PageContext,
    now: datetime,
    dead_letters: int | None,
) -> dict[str, Any]:
    name, target = _which(parts, request.method)
    if name is None:
        return _html(404, pages.message_page("Not found", "No such page.", context))
    refused = _admit(store, caller, name, now, context)
    if refused is not None:
        return refused
    try:
        return _show(name, target, request, store, caller, context, now, dead_letters)
    except NotFound:
        return _html(404, pages.message_page("Not found", "No such object for this key.", context))


# Each page or action: the path (under /console/) that names it, the method, and its name.
_PATHS = (
    (re.compile(r"^sessions$"), "GET", "sessions"),
    (re.compile(r"^(approvals|webhooks|analytics)$"), "GET", ""),
    (re.compile(f"^sessions/({SESSION_ID_SHAPE})$"), "GET", "session"),
    (re.compile(f"^sessions/({SESSION_ID_SHAPE})/revoke$"), "", "revoke"),
    (re.compile(f"^payments/({PAYMENT_ID_SHAPE})/(?:approve|reject)$"), "POST", "decide"),
)


def _which(parts: list[str], method: str) -> tuple[str | None, str]:
    """Which page or action a path names (None: no page), and the id in it."""
    path = "/".join(parts)
    for pattern, wanted_method, name in _PATHS:
        found = pattern.fullmatch(path)
        if found and wanted_method in ("", method):
            captured = found.group(1) if found.groups() else ""
            return (name or captured), (captured if name else "")
    return None, ""


def _show(
    name: str,
    target: str,
    request: Request,
    store: ConsoleStore,
    caller: Caller,
    context: PageContext,
    now: datetime,
    dead_letters: int | None,
) -> dict[str, Any]:
    if name == "sessions":
        return _sessions(request, store, caller, context, now)
    if name == "session":
        return _session(store, caller, target, context, now)
    if name == "revoke":
        return _revoke(request, store, caller, target, context, now)
    if name == "decide":
        return _decide(request, store, caller, target, now)
    if name == "approvals":
        return _approvals(store, caller, context, now)
    if name == "webhooks":
        return _html(200, pages.webhooks_page(webhooks.list_webhooks(store, caller), dead_letters, now, context))
    return _analytics(store, caller, context, now)


def _sessions(
    request: Request, store: ConsoleStore, caller: Caller, context: PageContext, now: datetime
) -> dict[str, Any]:
    filters = {k: v for k, v in request.query.items() if k in ("status", "agent_id", "user_wallet") and v}
    wanted = SessionFilter(
        agent_id=filters.get("agent_id"),
        user_wallet=filters.get("user_wallet"),
        active_only=filters.get("status") == "active",
    )
    page = sessions.list_sessions(store, caller, 50, None, wanted, now)
    return _html(200, pages.sessions_page(page.items, filters, page.next_cursor is not None, now, context))


def _session(
    store: ConsoleStore, caller: Caller, session_id: str, context: PageContext, now: datetime
) -> dict[str, Any]:
    session = sessions.get_session(store, caller, session_id, now)
    ledger = payments.session_ledger(store, store, caller, session_id, 50)
    verified = None
    if session.pkp_address and session.attestation_signature:
        from agent_sessions.infra.identity import Attestation, verify_attestation

        attested = sessions.get_attestation(store, caller, session_id, now)
        verified = verify_attestation(
            Attestation(
                session.pkp_address, attested.parameters, attested.parameters_hash, session.attestation_signature
            )
        )
    return _html(200, pages.session_page(session, ledger, verified, now, context))


def _revoke(
    request: Request, store: ConsoleStore, caller: Caller, session_id: str, context: PageContext, now: datetime
) -> dict[str, Any]:
    session = sessions.get_session(store, caller, session_id, now)
    if request.method == "GET":
        return _html(200, pages.revoke_page(session, context))
    if not session.is_active_at(now):
        return _redirect(_noticed(f"/console/sessions/{session_id}", "not_live", session_id))
    sessions.revoke_session(store, caller, session_id, now)
    return _redirect(_noticed(f"/console/sessions/{session_id}", "revoked", session_id))


def _decide(request: Request, store: ConsoleStore, caller: Caller, payment_id: str, now: datetime) -> dict[str, Any]:
    approve = request.path.endswith("/approve")
    decide = payment_decisions.approve_payment if approve else payment_decisions.reject_payment
    try:
        decide(store, caller, payment_id, now)
    except InvalidState:
        return _redirect(_noticed("/console/approvals", "not_pending", payment_id))
    return _redirect(_noticed("/console/approvals", "approved" if approve else "rejected", payment_id))


def _approvals(store: ConsoleStore, caller: Caller, context: PageContext, now: datetime) -> dict[str, Any]:
    page = account_payments.list_account_payments(store, caller, 100, None, {"status": "pending_approval"})
    pending = []
    known: dict[str, Any] = {}
    for payment in page.items:
        session = known.get(payment.session_id) or store.get_session(payment.session_id)
        known[payment.session_id] = session
        if session is None:
            continue
        payment = with_decision_of(payment, session)  # decided, the outbox not having settled it yet
        if payment.status_at(now, session.ended_at) == "pending_approval":
            pending.append((payment, session))
    pending.reverse()  # the listing is newest first by write time (ns): reversed, oldest first
    return _html(200, pages.approvals_page(pending, now, context))


def _analytics(store: ConsoleStore, caller: Caller, context: PageContext, now: datetime) -> dict[str, Any]:
    result = analytics.agent_analytics(store, caller, None, None, None, now)
    body = result.body()
    totals = {
        "Payments": str(body["total_payments"]),
        "Volume": f"${body['total_volume_usd']:,.2f}",
        "Average": f"${body['average_payment_usd']:,.2f}",
        "Success rate": f"{body['success_rate'] * 100:.1f} %",
        "Live sessions": str(body["active_sessions"]),
    }
    days = [(day.day, day.succeeded, day.volume_cents) for day in result.days]
    return _html(200, pages.analytics_page(days, totals, context))


def _signed_in(store: ConsoleStore, key: str | None) -> Caller | None:
    """The caller a console cookie's key stands for: an account API key or an agent key, never a session token."""
    if not key:
        return None
    caller = sessions.authenticate(store, f"Bearer {key}")
    return caller if caller is not None and caller.kind == "api_key" else None


def _allows(caller: Caller, page: str) -> bool:
    return caller.scopes is None or ROUTE_SCOPES[PAGE_ROUTES[page]] in caller.scopes


def _context(caller: Caller, key: str, request: Request) -> PageContext:
    notice = None
    code, target = request.query.get("notice"), request.query.get("id", "")
    if code in _NOTICES and _ID.fullmatch(target):
        notice = _NOTICES[code].format(id=target)
    visible = tuple(page for page in ("sessions", "approvals", "webhooks", "analytics") if _allows(caller, page))
    return PageContext(
        account=caller.account_id if caller.key_id is None else f"{caller.account_id} · {caller.key_id}",
        csrf=csrf_token(key),
        pages=visible,
        can_revoke=_allows(caller, "revoke"),
        can_decide=_allows(caller, "decide"),
        notice=notice,
    )


def _admit(
    store: ConsoleStore, caller: Caller, page: str, now: datetime, context: PageContext
) -> dict[str, Any] | None:
    """An agent key's request counted and scoped as its API route would be; a page saying why if refused."""
    try:
        admission = agent_keys.admit(store, caller, PAGE_ROUTES[page], now)
    except DomainError:
        return _redirect("/console/login")
    if admission is None or admission.refusal is None:
        return None
    refusal = admission.refusal
    return _html(refusal.status, pages.message_page("Not allowed", refusal.message, context))


def _login(request: Request, store: ConsoleStore) -> dict[str, Any]:
    if request.method != "POST":
        return _html(200, pages.login_page())
    if not same_origin(request.headers.get("origin"), request.host):
        return _html(403, pages.message_page("Refused", "Sign in from the console's own page."))
    key = request.form.get("key", "").strip()
    if _signed_in(store, key) is None:
        return _html(401, pages.login_page("That is not a valid API key or agent key."))
    return _redirect("/console/sessions", cookie=sign_in_cookie(key, request.host))


def _noticed(path: str, code: str, object_id: str) -> str:
    return f"{path}?{urlencode({'notice': code, 'id': object_id})}"


def _asset(name: str) -> dict[str, Any]:
    if name not in _ASSETS:
        return _html(404, pages.message_page("Not found", "No such file."))
    body = resources.files("agent_sessions.console").joinpath("assets", name).read_text("utf-8")
    headers = {**SECURITY_HEADERS, "Content-Type": _ASSETS[name], "Cache-Control": "public, max-age=86400"}
    return {"statusCode": 200, "headers": headers, "body": body, "isBase64Encoded": False}


def _html(status: int, body: str) -> dict[str, Any]:
    headers = {**SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def _redirect(location: str, cookie: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"statusCode": 303, "headers": {**SECURITY_HEADERS, "Location": location}, "body": ""}
    if cookie:
        answer["cookies"] = [cookie]
    return answer

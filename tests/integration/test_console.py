"""The console's handler with its events/ file against moto: sign-in, scopes, CSRF, what a page may hold."""

import base64
import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.dal import dynamo
from agent_sessions.domain.records import utc_now
from agent_sessions.logic import sessions as service
from tests.conftest import Invoke, load_event
from tests.integration.test_agent_keys import create_key
from tests.integration.test_payment_handlers import open_session, pay

COOKIE = "agent_sessions_console"
HOST = "abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def events_key(session_store: dynamo.DynamoStore) -> str:
    """The events/ files' API key, minted for their account (so the console and the handlers share it)."""
    from agent_sessions.domain.credentials import hash_secret

    key = load_event("create_session")["headers"]["authorization"].removeprefix("Bearer ")
    session_store.put_api_key(hash_secret(key), "acct_eventsexampleaccount0000", "events", utc_now())
    return key


def console(invoke: Invoke, method: str, path: str, key: str | None, form: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    event = load_event("console")
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = path
    event["queryStringParameters"] = {}
    event["cookies"] = [f"{COOKIE}={key}"] if key else []
    event["headers"].update(headers or {})
    if form is not None:
        event["body"] = "&".join(f"{name}={value}" for name, value in form.items())
    return invoke("console", event)


def csrf_of(page: dict[str, Any]) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', page["body"])
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_the_events_file_shows_the_accounts_live_sessions(invoke: Invoke, events_key: str) -> None:
    session = open_session(invoke)
    page = invoke("console", load_event("console"))
    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert f'data-session="{session["id"]}"' in page["body"]
    assert "default-src 'none'" in page["headers"]["Content-Security-Policy"]
    assert page["headers"]["X-Frame-Options"] == "DENY"


def test_without_a_key_every_page_leads_to_sign_in(invoke: Invoke) -> None:
    for path in ("/console", "/console/sessions", "/console/approvals", "/console/webhooks", "/console/analytics"):
        answer = console(invoke, "GET", path, None)
        assert (answer["statusCode"], answer["headers"]["Location"]) == (303, "/console/login"), path
    assert console(invoke, "GET", "/console/sessions", "zfi_test_" + "x" * 43)["statusCode"] == 303


def test_sign_in_sets_an_httponly_strict_cookie_and_a_wrong_key_is_401(invoke: Invoke, events_key: str) -> None:
    signed = console(invoke, "POST", "/console/login", None, {"key": events_key})
    assert (signed["statusCode"], signed["headers"]["Location"]) == (303, "/console/sessions")
    (cookie,) = signed["cookies"]
    assert all(part in cookie for part in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/console"))
    wrong = console(invoke, "POST", "/console/login", None, {"key": "zfi_test_" + "y" * 43})
    assert wrong["statusCode"] == 401
    assert "not a valid" in wrong["body"]
    session = open_session(invoke)
    token = console(invoke, "POST", "/console/login", None, {"key": session["session_token"]})
    assert token["statusCode"] == 401  # a session token never signs in
    foreign = console(invoke, "POST", "/console/login", None, {"key": events_key}, {"origin": "https://evil.example"})
    assert foreign["statusCode"] == 403


def test_no_page_holds_the_key_or_a_session_token(invoke: Invoke, events_key: str) -> None:
    session = open_session(invoke)
    pending = pay(invoke, session, 30)["json"]
    for path in ("/console/sessions", f"/console/sessions/{session['id']}", f"/console/sessions/{session['id']}/revoke",
                 "/console/approvals", "/console/webhooks", "/console/analytics"):  # fmt: skip
        page = console(invoke, "GET", path, events_key)
        assert page["statusCode"] == 200, (path, page["body"][:300])
        assert events_key not in page["body"], path
        assert session["session_token"] not in page["body"], path
    assert pending["id"] in console(invoke, "GET", "/console/approvals", events_key)["body"]


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(invoke: Invoke, events_key: str) -> None:
    session = open_session(invoke)
    pending = pay(invoke, session, 30)["json"]
    approve = f"/console/payments/{pending['id']}/approve"
    genuine = csrf_of(console(invoke, "GET", "/console/sessions", events_key))
    for form, headers in (({}, {}), ({"csrf": "0" * 32}, {}), ({"csrf": genuine}, {"origin": "https://evil.example"})):
        refused = console(invoke, "POST", approve, events_key, form, headers)
        assert refused["statusCode"] == 403
    revoke = console(invoke, "POST", f"/console/sessions/{session['id']}/revoke", events_key, {})
    assert revoke["statusCode"] == 403
    page = json.loads(json.dumps(invoke("get_payment", _get_payment(pending["id"]))))
    assert page["json"]["status"] == "pending_approval"  # nothing changed
    csrf = csrf_of(console(invoke, "GET", "/console/approvals", events_key))
    done = console(invoke, "POST", approve, events_key, {"csrf": csrf}, {"origin": f"https://{HOST}"})
    assert done["statusCode"] == 303
    assert done["headers"]["Location"] == f"/console/approvals?notice=approved&id={pending['id']}"


def _get_payment(payment_id: str) -> dict[str, Any]:
    return json.loads(json.dumps(load_event("get_payment")).replace("pay_exampleexampleexample234", payment_id))


def test_another_accounts_session_is_not_found(
    invoke: Invoke, events_key: str, session_store: dynamo.DynamoStore
) -> None:
    other = service.mint_api_key(session_store, utc_now())
    session = open_session(invoke)
    page = console(invoke, "GET", f"/console/sessions/{session['id']}", other.api_key)
    assert page["statusCode"] == 404
    assert session["id"] not in page["body"] or "No such object" in page["body"]
    assert session["agent_id"] not in page["body"]


def test_a_scoped_agent_key_sees_and_does_only_what_its_scopes_allow(invoke: Invoke, events_key: str) -> None:
    reader = create_key(invoke, scopes=["read_analytics"], name="analytics only")["full_key"]
    analytics = console(invoke, "GET", "/console/analytics", reader)
    assert analytics["statusCode"] == 200
    assert 'href="/console/sessions"' not in analytics["body"]  # no link to what it cannot read
    assert console(invoke, "GET", "/console", reader)["headers"]["Location"] == "/console/analytics"
    refused = console(invoke, "GET", "/console/sessions", reader)
    assert refused["statusCode"] == 403
    assert "sessions:read" in refused["body"]
    viewer = create_key(invoke, scopes=["read_only"], name="viewer")["full_key"]
    session = open_session(invoke)
    pay(invoke, session, 30)
    inbox = console(invoke, "GET", "/console/approvals", viewer)
    assert inbox["statusCode"] == 200
    assert "button" in inbox["body"]
    assert "approve" not in inbox["body"].split("<main>")[1]
    assert "Revoke" not in console(invoke, "GET", f"/console/sessions/{session['id']}", viewer)["body"]


def test_static_files_and_unknown_pages(invoke: Invoke, events_key: str) -> None:
    css = console(invoke, "GET", "/console/static/console.css", None)
    assert (css["statusCode"], css["headers"]["Content-Type"]) == (200, "text/css; charset=utf-8")
    assert console(invoke, "GET", "/console/static/../app.py", events_key)["statusCode"] == 404
    assert console(invoke, "GET", "/console/static/app.py", None)["statusCode"] == 404
    assert console(invoke, "GET", "/console/nothing", events_key)["statusCode"] == 404
    assert console(invoke, "GET", "/console/sessions/sess_nope", events_key)["statusCode"] == 404


def test_a_sessions_identity_is_checked_on_its_page(invoke: Invoke, events_key: str) -> None:
    signed = open_session(invoke, mint_pkp=True)
    page = console(invoke, "GET", f"/console/sessions/{signed['id']}", events_key)
    assert "signature verified" in page["body"]
    assert signed["pkp_address"] in page["body"]
    plain = open_session(invoke)
    assert "created without mint_pkp" in console(invoke, "GET", f"/console/sessions/{plain['id']}", events_key)["body"]


MARKUP = st.sampled_from(
    ['<x-evil id="m">', '"><x-evil>', "'><x-evil>", '" onmouseover="x-evil', "</dd><x-evil>", "<!--x-evil-->"]
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    agent=MARKUP,
    name=MARKUP,
    wallet=MARKUP,
    merchant=MARKUP,
    description=MARKUP,
    plain=st.text(st.characters(codec="utf-8", exclude_characters="<>\"'&"), max_size=6),
    hidden=st.sampled_from(["\u202e", "\x1b", "\u2066", "\u200f", "\u2028", "\x00", "\u0085"]),
)
def test_what_an_agent_or_a_platform_writes_is_never_markup_on_any_page(
    invoke: Invoke,
    events_key: str,
    agent: str,
    name: str,
    wallet: str,
    merchant: str,
    description: str,
    plain: str,
    hidden: str,
) -> None:
    """Every field a credential can write and a page shows (agent, name, wallet, merchants, a
    payment's merchant and description, a decline's message quoting them) comes out as text, and a
    character that is not printable (a bidirectional override, ESC, NUL) as its escape."""
    session = open_session(
        invoke,
        agent_id=agent + hidden + plain,
        agent_name=name + plain,
        user_wallet=wallet + hidden + plain,
        allowed_merchants=[merchant + plain, "merchant_amazon"],
        limits={"max_per_transaction": 50, "max_per_day": 100, "require_approval_above": 20},
    )
    description += hidden
    assert pay(invoke, session, 30, merchant_id=merchant + plain, description=description)["statusCode"] == 202
    assert pay(invoke, session, 1, merchant_id="not-" + merchant, description=description)["statusCode"] == 403
    paths = ("/console/sessions", f"/console/sessions/{session['id']}", f"/console/sessions/{session['id']}/revoke",
             "/console/approvals", "/console/analytics")  # fmt: skip
    for path in paths:
        page = console(invoke, "GET", path, events_key)
        assert page["statusCode"] == 200, (path, page["body"][:300])
        for marker in {agent, name, wallet, merchant, description}:
            assert marker not in page["body"], (path, marker)  # escaped, it holds none of < > " '
        assert hidden not in page["body"], path


# Forms, Origins and bodies a hostile page or client can send: never a 500 (each of these was one),
# and a POST is carried out only with the sign-in's CSRF token and no other site's Origin.
ORIGINS = (
    st.none()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "http://[",
            "http://[::1",
            "https://a]b",
            "null",
            "https://evil.example",
            f"https://{HOST}",
            f"http://{HOST}:99999",
        ]
    )
)
CSRF_VALUES = (
    st.none() | st.text(max_size=40) | st.sampled_from(["0" * 32, "é" * 32, "\u0663" * 32, "%ZZ", "%C3%A9" * 16])
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    origin=ORIGINS,
    csrf=CSRF_VALUES,
    genuine_csrf=st.booleans(),
    raw_body=st.none() | st.text(max_size=40),
    encoding=st.sampled_from(["plain", "base64", "not base64"]),
)
def test_a_hostile_post_is_refused_or_done_never_a_500(
    invoke: Invoke,
    events_key: str,
    origin: str | None,
    csrf: str | None,
    genuine_csrf: bool,
    raw_body: str | None,
    encoding: str,
) -> None:
    session = open_session(invoke)
    pending = pay(invoke, session, 30)["json"]
    genuine = csrf_of(console(invoke, "GET", "/console/sessions", events_key))
    presented = genuine if genuine_csrf else csrf
    event = load_event("console")
    event["requestContext"]["http"]["method"] = "POST"
    event["rawPath"] = f"/console/payments/{pending['id']}/approve"
    event["queryStringParameters"] = {}
    event["cookies"] = [f"{COOKIE}={events_key}"]
    if origin is not None:
        event["headers"]["origin"] = origin
    body = raw_body if raw_body is not None else ("" if presented is None else f"csrf={presented}")
    as_bytes = body.encode("utf-8", "surrogatepass")
    event["body"] = {"plain": body, "base64": base64.b64encode(as_bytes).decode(), "not base64": "%" + body}[encoding]
    event["isBase64Encoded"] = encoding != "plain"
    answer = invoke("console", event)
    assert answer["statusCode"] < 500, answer["body"][:300]
    allowed = (
        raw_body is None
        and presented == genuine
        and encoding != "not base64"
        and (not origin or origin == f"https://{HOST}")
    )
    assert answer["statusCode"] == (303 if allowed else 403), (origin, presented, body, answer["body"][:200])
    status = invoke("get_payment", _get_payment(pending["id"]))["json"]["status"]
    assert status == ("authorized" if allowed else "pending_approval")


CONSOLE_PATHS = st.sampled_from(
    ["/console", "/console/", "/console/sessions", "/console/approvals", "/console/webhooks", "/console/analytics",
     "/console/login", "/console/logout", "/console/static/console.css", "/console/static/../app.py",
     "/console/sessions/sess_exampleexampleexample234", "/console/payments/x/approve", "/console//sessions"]
)  # fmt: skip


@settings(
    max_examples=int(os.environ.get("HOSTILE_EVENTS", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get", ""]),
    path=CONSOLE_PATHS | CONSOLE_PATHS.flatmap(lambda base: st.text(max_size=12).map(lambda tail: base + tail)),
    query=st.dictionaries(
        st.sampled_from(["status", "notice", "id", "agent_id", "page", "cursor", ""]), st.text(max_size=12)
    ),
    cookies=st.lists(
        st.text(max_size=30) | st.just(f"{COOKIE}=") | st.text(max_size=20).map(lambda v: f"{COOKIE}={v}")
    ),
    signed_in=st.booleans(),
    body=st.none() | st.text(max_size=30) | st.text(max_size=30).map(lambda key: f"key={key}&csrf={key}"),
    encoded=st.booleans(),
)
def test_any_console_request_is_a_page_never_a_500(
    invoke: Invoke,
    events_key: str,
    method: str,
    path: str,
    query: dict[str, str],
    cookies: list[str],
    signed_in: bool,
    body: str | None,
    encoded: bool,
) -> None:
    event = load_event("console")
    event["body"] = body
    event["isBase64Encoded"] = encoded
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = path
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
    event["cookies"] = cookies + ([f"{COOKIE}={events_key}"] if signed_in else [])
    answer = invoke("console", event)
    assert answer["statusCode"] < 500, (method, path, query, answer["body"][:300])
    assert events_key not in answer.get("body", "")

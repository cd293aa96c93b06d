"""How the console keeps its operator signed in, and what every answer carries.

- The API key (or a scoped agent key) is kept in one cookie: HttpOnly (no script reads it),
  SameSite=Strict (no other site's request carries it), Secure outside localhost, Path=/console.
  It never appears in a page or a URL.
- Every state-changing request carries a CSRF token: an HMAC of the key, so it is the same for the
  whole sign-in, reveals nothing of the key, and no other site can know it. A POST without it, or
  with another, is refused; so is one whose Origin is another site's.
- Every page goes out with a strict Content-Security-Policy (no inline script or style, nothing
  from another origin), no framing, no referrer to other sites and no caching.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

COOKIE_NAME = "agent_sessions_console"
COOKIE_SECONDS = 8 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a browser send `Origin: null` on our own forms
    "Cache-Control": "no-store",
}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def key_from_cookies(cookies: list[str]) -> str | None:
    """The key the console's cookie holds, if the request carries it."""
    for header in cookies:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:  # a malformed cookie header is no cookie
            jar = SimpleCookie()
        if COOKIE_NAME in jar and jar[COOKIE_NAME].value:
            return jar[COOKIE_NAME].value
    return None


def is_local(host: str) -> bool:
    return host.split(":")[0] in _LOCAL_HOSTS or host.startswith("[::1]")


def sign_in_cookie(key: str, host: str) -> str:
    secure = "" if is_local(host) else "; Secure"
    return f"{COOKIE_NAME}={key}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={COOKIE_SECONDS}{secure}"


def sign_out_cookie(host: str) -> str:
    secure = "" if is_local(host) else "; Secure"
    return f"{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"


def csrf_token(key: str) -> str:
    """The sign-in's CSRF token: HMAC-SHA256 of a fixed label keyed by the key (32 hex digits)."""
    return hmac.new(key.encode("utf-8"), b"agent-sessions console csrf", hashlib.sha256).hexdigest()[:32]


def csrf_ok(key: str, presented: str | None) -> bool:
    """The form's token is the sign-in's (compared as bytes: compare_digest refuses non-ASCII text)."""
    if presented is None:
        return False
    return hmac.compare_digest(csrf_token(key).encode(), presented.encode("utf-8", "surrogatepass"))


def same_origin(origin: str | None, host: str) -> bool:
    """No Origin (an older browser, a same-origin GET form) passes; one naming another host does not."""
    if not origin:
        return True
    try:
        return urlsplit(origin).netloc == host
    except ValueError:  # `http://[` and the like: not an origin, so not ours
        return False

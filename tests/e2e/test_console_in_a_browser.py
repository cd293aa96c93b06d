"""The operator's console in a real browser (headless Chromium) against the local runtime.

Sign in, see a session's bars, approve one payment and reject another from the inbox, revoke a
session, and see each change reflected in the pages, the API and the webhooks sent; on a desktop
window and on a phone-sized one. Every page is saved as a screenshot in build/screenshots/.
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalService
from tests.support.browser import browser_missing, chromium
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", Path(__file__).parents[2] / "build" / "screenshots"))
WINDOWS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}


def open_world(service: LocalService, key: str, receiver: Receiver, agent: str) -> dict[str, Any]:
    """A session with $12.34 spent and two payments awaiting approval, and a webhook to the receiver."""
    hook = service.call("POST", "/api/v1/webhooks", key, json={"url": receiver.url})
    assert hook.status_code == 201, hook.text
    body = {"agent_id": agent, "agent_name": f"Console {agent}", "user_wallet": "Hx7B...abc",
            "limits": {"max_per_day": 200, "require_approval_above": 20}}  # fmt: skip
    session = service.call("POST", "/api/v1/ai/sessions", key, json=body).json()
    token = session["session_token"]
    paid = service.call("POST", "/api/v1/payments", token, json={"amount": 12.34, "merchant_id": "shop"})
    assert paid.status_code == 201, paid.text
    pending = [
        service.call("POST", "/api/v1/payments", token, json={"amount": amount, "merchant_id": "shop"}).json()
        for amount in (30, 45.5)
    ]
    assert [p["status"] for p in pending] == ["pending_approval", "pending_approval"]
    declined = service.call("POST", "/api/v1/payments", token, json={"amount": 1500, "merchant_id": "shop"})
    assert declined.status_code == 402  # over max_per_transaction: in the ledger with its rule
    return {"session": session, "approve": pending[0]["id"], "reject": pending[1]["id"], "webhook": hook.json()["id"]}


def sign_in(driver: Any, base_url: str, key: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url == f"{base_url}/console/sessions", message="not signed in")


def click_then_notice(driver: Any, find: Any, notice: str) -> None:
    """Click what `find()` finds (found again if the page refreshed itself meanwhile), then wait for `notice`."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for _ in range(3):
        try:
            find().click()
            break
        except StaleElementReferenceException:
            continue
    # While the form's answer loads, an element found on the old page can be gone before it is read:
    # Chrome reports that as stale, or as "Node with given id does not belong to the document" (a
    # plain WebDriverException). Either is read again at the next poll; the notice must still come.
    WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda d: any(notice in e.text for e in d.find_elements(By.CSS_SELECTOR, ".notice")),
        message=f"no notice {notice!r}",
    )


def shot(driver: Any, window: str, page: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{window}-{page}.png"))


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_an_operator_signs_in_approves_rejects_and_revokes(
    local_service: LocalService, receiver: Receiver, window: str
) -> None:
    missing = browser_missing()
    if missing:
        pytest.fail(missing)
    from selenium.webdriver.common.by import By

    key = local_service.api_keys[1]
    world = open_world(local_service, key, receiver, f"browser-{window}")
    session_id = world["session"]["id"]
    width, height, mobile = WINDOWS[window]
    with chromium(width, height, mobile) as driver:
        driver.get(f"{local_service.base_url}/console")
        assert driver.current_url.endswith("/console/login")
        shot(driver, window, "login")
        sign_in(driver, local_service.base_url, key)

        card = driver.find_element(By.CSS_SELECTOR, f'article[data-session="{session_id}"]')
        day = card.find_element(By.CSS_SELECTOR, '[data-window="day"] svg.bar')
        assert "$12.34 spent, $75.50 held, $112.16 left of $200.00" in day.get_attribute("aria-label")
        spent = card.find_element(By.CSS_SELECTOR, '[data-window="day"] rect.bar-spent')
        assert spent.get_attribute("width") == "6.17"  # 12.34 of 200
        assert "in 23 h" in card.text
        shot(driver, window, "sessions")

        driver.get(f"{local_service.base_url}/console/approvals")
        shot(driver, window, "approvals")
        cards = [c.get_attribute("data-payment") for c in driver.find_elements(By.CSS_SELECTOR, "article.approval")]
        assert cards.index(world["approve"]) < cards.index(world["reject"])  # oldest first
        approve = driver.find_element(By.CSS_SELECTOR, f'article[data-payment="{world["approve"]}"]')
        assert "$30.00" in approve.text
        assert "shop" in approve.text
        button = 'article[data-payment="{}"] button.{}'
        click_then_notice(
            driver,
            lambda: driver.find_element(By.CSS_SELECTOR, button.format(world["approve"], "approve")),
            f"Approved {world['approve']}.",
        )
        click_then_notice(
            driver,
            lambda: driver.find_element(By.CSS_SELECTOR, button.format(world["reject"], "reject")),
            f"Rejected {world['reject']}.",
        )
        assert not driver.find_elements(By.CSS_SELECTOR, f'article[data-payment="{world["approve"]}"]')
        statuses = [
            local_service.call("GET", f"/api/v1/payments/{world[which]}", key).json()["status"]
            for which in ("approve", "reject")
        ]
        assert statuses == ["authorized", "rejected"]

        driver.get(f"{local_service.base_url}/console/sessions/{session_id}")
        ledger = driver.find_element(By.CSS_SELECTOR, "table.ledger").text
        assert "declined" in ledger
        assert "max_per_transaction" in ledger
        assert "$30.00" in ledger
        assert "authorized" in ledger
        assert "rejected" in ledger
        day = driver.find_element(By.CSS_SELECTOR, '[data-window="day"] svg.bar').get_attribute("aria-label")
        assert "$42.34 spent, $0.00 held, $157.66 left" in day
        shot(driver, window, "session")
        driver.find_element(By.LINK_TEXT, "Revoke…").click()
        shot(driver, window, "revoke")
        click_then_notice(
            driver, lambda: driver.find_element(By.CSS_SELECTOR, "form.confirm button.danger"), f"Revoked {session_id}."
        )
        assert "revoked" in driver.find_element(By.CSS_SELECTOR, ".status").text
        assert local_service.call("GET", f"/api/v1/ai/sessions/{session_id}", key).json()["status"] == "revoked"

        for event, object_id in (
            ("agent.payment.approved", world["approve"]),
            ("agent.payment.rejected", world["reject"]),
            ("agent.session.revoked", session_id),
        ):
            receiver.wait_for(event, object_id)
        driver.get(f"{local_service.base_url}/console/webhooks")
        row = next(r for r in driver.find_elements(By.CSS_SELECTOR, "tr.webhook") if receiver.url in r.text)
        assert "delivered" in row.find_element(By.CSS_SELECTOR, ".last-delivery").text
        assert driver.find_element(By.CSS_SELECTOR, ".dead-letters").text == "0"
        shot(driver, window, "webhooks")
        driver.get(f"{local_service.base_url}/console/analytics")
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2  # volume and count per day
        shot(driver, window, "analytics")
        assert key not in driver.page_source
        assert world["session"]["session_token"] not in driver.page_source


def test_the_pages_fit_a_phone(local_service: LocalService) -> None:
    """On a 390 px window nothing is wider than the screen (no sideways scrolling)."""
    missing = browser_missing()
    if missing:
        pytest.fail(missing)

    key = local_service.api_keys[1]
    with chromium(390, 844, mobile=True) as driver:
        driver.get(f"{local_service.base_url}/console/login")
        sign_in(driver, local_service.base_url, key)
        for page in ("sessions", "approvals", "webhooks", "analytics"):
            driver.get(f"{local_service.base_url}/console/{page}")
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (page, overflow)
            assert json.loads(json.dumps(driver.get_log("browser"))) == []  # no script error, no CSP refusal


def test_a_cross_site_post_is_refused_over_http(local_service: LocalService) -> None:
    """Signed in (the cookie sent), a POST without the console's CSRF token, or from another site, changes nothing."""
    import requests

    key = local_service.api_keys[1]
    browser = requests.Session()
    signed = browser.post(f"{local_service.base_url}/console/login", data={"key": key}, allow_redirects=False)
    assert signed.status_code == 303
    assert "HttpOnly" in signed.headers["Set-Cookie"]
    assert "SameSite=Strict" in signed.headers["Set-Cookie"]
    body = {"agent_id": "csrf-target", "user_wallet": "w"}
    session = local_service.call("POST", "/api/v1/ai/sessions", key, json=body).json()
    revoke = f"{local_service.base_url}/console/sessions/{session['id']}/revoke"
    assert browser.post(revoke, data={}, allow_redirects=False).status_code == 403
    page = browser.get(f"{local_service.base_url}/console/sessions/{session['id']}/revoke").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    evil = browser.post(revoke, data={"csrf": token}, headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert evil.status_code == 403
    assert local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", key).json()["status"] == "active"
    assert key not in page
    assert session["session_token"] not in page
    assert (
        "script-src 'self'"
        in browser.get(f"{local_service.base_url}/console/sessions").headers["Content-Security-Policy"]
    )

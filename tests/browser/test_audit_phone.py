"""
The audit pages on a 360 px phone (issue 8, item 6): the administrators'
log with its filters, and a member's "who has seen your details", fit the
width; a wide table scrolls inside itself, never the page.
"""

from selenium.webdriver.common.by import By

from conftest import log_in_as


def page_width(driver):
    return driver.execute_script("return document.documentElement.scrollWidth")


def test_audit_pages_fit_a_phone(fresh_server, browser):
    server = fresh_server
    admin = server.member("admin")
    # Sixty reads through the API make two pages of the log, the way they
    # happen: no SQL written into the database.
    token = server.cli("token", "add", "phone", "--scope", "write").stdout.split()[-1]
    api = server.client()
    assert api.post("/api/v1/memberships", headers={"Authorization": f"Bearer {token}"},
                    json={"name": "Ana Phone", "email": "ana.phone@example.org",
                          "country": "ARG", "consent_store": True,
                          "not_government": True}).status_code == 202
    for _ in range(60):
        assert api.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"}).ok
    browser.set_window_size(360, 740)
    try:
        log_in_as(server, browser, admin)
        browser.get(server.url("/admin/audit"))
        assert browser.find_element(By.TAG_NAME, "h1").text == "Audit log"
        viewport = browser.execute_script("return window.innerWidth")
        assert page_width(browser) <= viewport, "the audit log overflows a 360 px screen"
        browser.find_element(By.ID, "f-action").click()  # the filters are reachable
        assert browser.find_element(By.CSS_SELECTOR, 'a[href*="page=2"]')
        # The directory shares the filters' style (its country select used to overflow).
        browser.get(server.url("/members"))
        assert page_width(browser) <= viewport
    finally:
        browser.set_window_size(1280, 900)

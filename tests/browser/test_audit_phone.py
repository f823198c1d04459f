"""
The audit pages on a 360 px phone (issue 8, item 6): the administrators'
log with its filters, and a member's "who has seen your details", fit the
width; a wide table scrolls inside itself, never the page.
"""

import sqlite3

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from ratify_server import SLOW


def log_in(server, driver, user):
    driver.get(server.url("/login"))
    driver.find_element(By.ID, "email").send_keys(user.email)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.CSS_SELECTOR, 'main form button[type="submit"]').click()
    WebDriverWait(driver, 15 * SLOW).until(EC.url_to_be(server.url("/")))


def page_width(driver):
    return driver.execute_script("return document.documentElement.scrollWidth")


def test_audit_pages_fit_a_phone(fresh_server, browser):
    server = fresh_server
    admin = server.member("admin")
    with sqlite3.connect(server.db) as db:
        db.executemany("INSERT INTO audit_log (at, action, object, detail) VALUES "
                       "(?, 'membership status changed', 'membership 12345678', 'lapsed')",
                       [(1700000000 + i,) for i in range(60)])
    browser.set_window_size(360, 740)
    try:
        log_in(server, browser, admin)
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

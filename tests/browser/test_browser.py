"""
Ratify in headless Chromium: the home page, logging in through the form,
the account page, logging out; no console errors (a Content-Security-Policy
violation shows up as one), and the stylesheet really applies.
"""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from ratify_server import SLOW

SCREENSHOT = "/tmp/ratify-home.png"


def wait(driver):
    return WebDriverWait(driver, 15 * SLOW)


def console_errors(driver, expected_status=None):
    """SEVERE console entries (CSP violations among them), leaving out the
    network entry a page answered on purpose with expected_status logs."""
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    if expected_status:
        errors = [e for e in errors if not (
            e.get("source") == "network" and f"status of {expected_status}" in e.get("message", ""))]
    return errors


def path_is(server, path):
    return EC.url_to_be(server.url(path))


def test_log_in_and_out_in_a_browser(server, browser):
    user = server.member()
    driver = browser
    driver.get_log("browser")  # start from an empty console

    driver.get(server.url("/"))
    html = driver.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("lang") == "en"
    assert html.get_attribute("dir") == "ltr"
    header = driver.find_element(By.CSS_SELECTOR, "header.site")
    background = header.value_of_css_property("background-color")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent", ""), \
        f"the stylesheet did not apply: header background is {background}"
    assert driver.save_screenshot(SCREENSHOT)
    assert console_errors(driver) == []

    driver.find_element(By.CSS_SELECTOR, 'header.site a[href="/login"]').click()
    wait(driver).until(path_is(server, "/login"))
    driver.find_element(By.ID, "email").send_keys(user.email)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.CSS_SELECTOR, 'main form button[type="submit"]').click()
    wait(driver).until(path_is(server, "/"))
    cookies = {c["name"]: c for c in driver.get_cookies()}
    assert "session" in cookies
    assert cookies["session"]["httpOnly"] is True
    assert driver.execute_script("return document.cookie") == "", "cookies must be HttpOnly"

    driver.find_element(By.CSS_SELECTOR, 'header.site a[href="/account"]').click()
    wait(driver).until(path_is(server, "/account"))
    assert user.email in driver.find_element(By.TAG_NAME, "main").text
    assert console_errors(driver) == []

    driver.find_element(By.CSS_SELECTOR, 'header.site form[action="/logout"] button').click()
    wait(driver).until(path_is(server, "/"))
    assert driver.find_elements(By.CSS_SELECTOR, 'header.site a[href="/login"]')
    assert "session" not in {c["name"] for c in driver.get_cookies()}
    driver.get(server.url("/account"))
    wait(driver).until(EC.url_contains("/login?next="))
    assert console_errors(driver) == []


def test_wrong_password_in_a_browser_keeps_the_email(server, browser):
    user = server.member()
    driver = browser
    driver.delete_all_cookies()
    driver.get(server.url("/login"))
    driver.find_element(By.ID, "email").send_keys(user.email)
    driver.find_element(By.ID, "password").send_keys("not the password")
    driver.find_element(By.CSS_SELECTOR, 'main form button[type="submit"]').click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, '[role="alert"]')))
    assert driver.find_element(By.ID, "email").get_attribute("value") == user.email
    assert driver.find_element(By.ID, "password").get_attribute("value") == ""
    assert console_errors(driver, expected_status=400) == []

"""
Two-factor sign-in in headless Chromium on a 360 px wide phone screen: a
coordinator's first login lands on the enrolment page, whose QR code (a
data: image the CSP must allow) loads; nothing overflows sideways; the code
typed from the secret turns it on; the next login asks for a code.
"""

import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from ratify_server import SLOW

PHONE_WIDTH = 360
SCREENSHOT = "/tmp/ratify-two-factor-phone.png"


def wait(driver):
    return WebDriverWait(driver, 15 * SLOW)


def severe(driver):
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def assert_fits(driver, what):
    inner, scroll = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]")
    assert inner <= PHONE_WIDTH + 20, f"the window is {inner} px wide, not a phone"
    assert scroll <= inner, f"{what}: {scroll} px of content in a {inner} px wide window"


def log_in(driver, server, user):
    driver.get(server.url("/login"))
    driver.find_element(By.ID, "email").send_keys(user.email)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.CSS_SELECTOR, 'main form button[type="submit"]').click()


def test_coordinator_enrols_on_a_phone(server, browser):
    driver = browser
    driver.delete_all_cookies()
    driver.set_window_size(PHONE_WIDTH, 780)
    try:
        driver.get_log("browser")
        coord = server.member("coordinator", countries=("ARG",))
        log_in(driver, server, coord)
        wait(driver).until(EC.url_to_be(server.url("/account/two-factor")))
        img = driver.find_element(By.CSS_SELECTOR, "img.qr")
        wait(driver).until(lambda d: d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", img))
        assert img.size["width"] <= PHONE_WIDTH
        assert_fits(driver, "enrolment page")
        driver.execute_script("document.querySelector('img.qr').scrollIntoView()")
        assert driver.save_screenshot(SCREENSHOT)
        secret = driver.find_element(By.CSS_SELECTOR, "code.secret").text.replace(" ", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
        server.totp_secrets[coord.email] = secret
        driver.find_element(By.ID, "code").send_keys(server.next_code(coord.email))
        driver.find_element(By.CSS_SELECTOR, 'main form[action="/account/two-factor"] button').click()
        wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "ul.codes")))
        assert len(driver.find_elements(By.CSS_SELECTOR, "ul.codes code")) == 10
        assert_fits(driver, "recovery codes")
        assert severe(driver) == []

        # On a phone the menu is a disclosure (issue 14): open it first.
        driver.find_element(By.CSS_SELECTOR, "header.site details.menu-narrow summary").click()
        driver.find_element(
            By.CSS_SELECTOR, 'header.site details.menu-narrow form[action="/logout"] button').click()
        wait(driver).until(EC.url_to_be(server.url("/")))
        log_in(driver, server, coord)
        wait(driver).until(EC.url_to_be(server.url("/login/code")))
        assert_fits(driver, "code form")
        driver.find_element(By.ID, "code").send_keys(server.next_code(coord.email))
        driver.find_element(By.CSS_SELECTOR, 'main form button[type="submit"]').click()
        wait(driver).until(EC.url_to_be(server.url("/")))
        assert "session" in {c["name"] for c in driver.get_cookies()}
        assert severe(driver) == []
    finally:
        driver.set_window_size(1280, 900)

"""
Homes and the menu in Chromium at a phone's 390 px and a desktop's 1366 px
(issue 14): each role's home fits the width (no sideways scrolling), the
menu is short (a "Menu" disclosure on the phone, without JavaScript) and
marks the current page with aria-current.
"""

from selenium.webdriver.common.by import By

from conftest import log_in_as

SIZES = ((390, 844), (1366, 900))
SHOTS = "/tmp/ratify-home-{role}-{width}.png"


def fits(driver):
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")


def header_height(driver):
    return driver.execute_script(
        "return document.querySelector('header.site').getBoundingClientRect().height")


def current_links(driver):
    """The hrefs of the visible menu links marked as the current page."""
    return [a.get_attribute("href") for a in
            driver.find_elements(By.CSS_SELECTOR, 'header.site a[aria-current="page"]')
            if a.is_displayed()]


def check_role(server, driver, role):
    for width, height in SIZES:
        driver.set_window_size(width, height)
        driver.get(server.url("/"))
        assert fits(driver), f"the {role} home scrolls sideways at {width} px"
        assert driver.save_screenshot(SHOTS.format(role=role, width=width))
        summary = driver.find_element(By.CSS_SELECTOR, "header.site details.menu-narrow summary")
        if width < 500:
            # The phone: one bar and the "Menu" button, not five rows of links.
            assert summary.is_displayed()
            assert header_height(driver) <= 150, header_height(driver)
            assert not driver.find_element(By.CSS_SELECTOR, "nav.menu-wide").is_displayed()
            driver.get(server.url("/countries"))
            driver.find_element(By.CSS_SELECTOR,
                                "header.site details.menu-narrow summary").click()
            assert current_links(driver) == [server.url("/countries")]
            assert driver.save_screenshot(SHOTS.format(role=role + "-menu", width=width))
            assert fits(driver) or role == "visitor"  # /countries is another helper's page
        else:
            assert not summary.is_displayed()
            assert header_height(driver) <= 130, header_height(driver)
            driver.get(server.url("/calendar"))
            assert current_links(driver) == [server.url("/calendar")]
    driver.set_window_size(1280, 900)


def test_visitor_home_and_menu(server, browser):
    browser.delete_all_cookies()
    check_role(server, browser, "visitor")


def test_member_home_and_menu(server, browser):
    log_in_as(server, browser, server.member())
    check_role(server, browser, "member")
    browser.set_window_size(1366, 900)
    browser.get(server.url("/profile"))
    assert current_links(browser) == [server.url("/account")]  # one "Your account"
    browser.set_window_size(1280, 900)


def test_coordinator_home_and_menu(server, browser):
    log_in_as(server, browser, server.member("coordinator", countries=["AGO"]))
    check_role(server, browser, "coordinator")


def test_admin_home_and_menu(server, browser):
    log_in_as(server, browser, server.member("admin"))
    check_role(server, browser, "admin")
    browser.set_window_size(1366, 900)
    browser.get(server.url("/admin/users"))
    assert current_links(browser) == [server.url("/admin")]
    browser.set_window_size(1280, 900)

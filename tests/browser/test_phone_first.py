"""
Phone first (issue 14, items 4, 5 and 10) in headless Chromium, at 390 px
(a phone) and 1366 px (a laptop): /countries is a compact list on a phone,
in English, Spanish and Arabic, without sideways scrolling; the map's links
have accessible names; a country is found by typing its name with
JavaScript off; the Spanish treaty page, the /members filters and a country
page fit the screen; the country page offers the next action under the ask.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import log_in_as, set_language

PHONE, LAPTOP = (390, 900), (1366, 900)


def fits(driver):
    """scrollWidth <= clientWidth of the page: nothing scrolls sideways."""
    return driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]")


@pytest.fixture
def phone(browser):
    browser.set_window_size(*PHONE)
    yield browser
    browser.delete_all_cookies()  # the page is on the server's host: its session goes
    browser.set_window_size(1280, 900)
    set_language(browser, "en")
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
@pytest.mark.parametrize("size", [PHONE, LAPTOP])
def test_countries_fits_and_is_compact(server, phone, lang, size):
    driver = phone
    driver.set_window_size(*size)
    set_language(driver, lang)
    driver.get(server.url("/countries"))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    width, client = fits(driver)
    assert width <= client, f"/countries in {lang} at {size[0]} px is {width} px wide"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    # Was 33,000 px (en) to 50,000 px (ar) on a phone.
    assert height < 18000, f"/countries in {lang} at {size[0]} px is {height} px tall"
    angola = driver.find_element(By.CSS_SELECTOR, 'table.countries a[href="/countries/AGO"]')
    row = angola.find_element(By.XPATH, "./ancestor::tr")
    ask = row.find_element(By.CSS_SELECTOR, "td.c-ask")
    badge = row.find_element(By.CSS_SELECTOR, ".badge")
    assert ask.is_displayed() and badge.is_displayed() and ask.text
    box = ask.rect
    assert box["x"] >= 0 and box["x"] + box["width"] <= client + 1, "the ask is off-screen"
    if size == PHONE:
        # One or two lines for the name and status, the ask under them.
        assert row.rect["height"] < 120, row.rect
        # The map is large enough to tap: wider than the screen, panned in its box.
        svg = driver.find_element(By.CSS_SELECTOR, "figure.map svg")
        assert svg.rect["width"] >= 700
        malta = driver.find_element(By.CSS_SELECTOR, 'a[href="/countries/MLT"] circle.hit')
        assert malta.rect["width"] >= 12, "a small state's tap target is too small"


def test_map_links_have_accessible_names(server, phone):
    driver = phone
    driver.set_window_size(*LAPTOP)
    driver.get(server.url("/countries"))
    svg = driver.find_element(By.CSS_SELECTOR, "figure.map svg")
    assert svg.get_attribute("role") != "img"
    links = driver.find_elements(By.CSS_SELECTOR, "figure.map svg a")
    assert len(links) > 190
    names = {a.get_dom_attribute("href").rsplit("/", 1)[1]: a.accessible_name for a in links}
    assert all(names.values()), [k for k, v in names.items() if not v]
    assert names["AGO"] == "Angola: Signatory"
    assert names["MLT"].startswith("Malta: ")


@pytest.mark.parametrize("lang,typed", [("en", "Angola"), ("es", "angola"), ("fr", "Angola"),
                                        ("ar", "أنغولا")])
def test_find_a_country_by_name_without_javascript(server, phone, lang, typed):
    driver = phone
    set_language(driver, lang)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    driver.get(server.url("/countries"))
    box = driver.find_element(By.ID, "q")
    assert driver.find_element(By.CSS_SELECTOR, 'label[for="q"]').text
    box.send_keys(typed)
    box.send_keys(Keys.ENTER)
    driver.find_element(By.ID, "shown")  # the new page is there
    assert "q=" in driver.current_url
    rows = driver.find_elements(By.CSS_SELECTOR, "table.countries tbody tr")
    links = [r.find_element(By.CSS_SELECTOR, "a").get_attribute("href") for r in rows]
    assert any(h.endswith("/countries/AGO") for h in links) and len(links) <= 3, links
    assert driver.find_element(By.ID, "q").get_attribute("value") == typed
    assert fits(driver)[0] <= fits(driver)[1]


@pytest.mark.parametrize("width", [360, 390])
@pytest.mark.parametrize("lang", ["es", "fr", "ar"])
def test_treaty_page_fits_a_phone(server, phone, lang, width):
    phone.set_window_size(width, 900)
    set_language(phone, lang)
    phone.get(server.url("/treaties/op-icescr"))
    width, client = fits(phone)
    assert width <= client, f"{width} > {client}"
    # The facts keep a readable width (a value squeezed to one letter a line
    # fits the screen too, and is useless).
    for dd in phone.find_elements(By.CSS_SELECTOR, "dl.facts dd"):
        assert dd.rect["width"] > client / 2, dd.rect
    # The table is a list: nothing in it reaches past the screen either.
    widest = phone.execute_script(
        "return Math.max(...[...document.querySelectorAll('main table *')]"
        ".map(e => e.getBoundingClientRect().right))")
    assert widest <= client + 1


def test_members_filters_fit_and_keep_labels_with_dropdowns(server, phone):
    log_in_as(server, phone, server.member())
    for size in (PHONE, LAPTOP):
        phone.set_window_size(*size)
        phone.get(server.url("/members"))
        width, client = fits(phone)
        assert width <= client, f"/members at {size[0]} px: {width} > {client}"
        for field in ("f-country", "f-type", "f-group", "f-language"):
            label = phone.find_element(By.CSS_SELECTOR, f'label[for="{field}"]').rect
            control = phone.find_element(By.ID, field).rect
            # The label sits right above its control, never at the end of a line.
            assert abs(label["x"] - control["x"]) < 2 and 0 <= control["y"] - label["y"] < 40, \
                (field, size, label, control)
            assert control["x"] + control["width"] <= client + 1


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_country_page_fits_360_and_offers_the_next_action(server, phone, lang):
    phone.set_window_size(360, 800)
    set_language(phone, lang)
    phone.get(server.url("/countries/AGO"))
    width, client = fits(phone)
    assert width <= client, f"/countries/AGO in {lang}: {width} > {client}"
    ask = phone.find_element(By.CSS_SELECTOR, "section.ask")
    join = ask.find_element(By.CSS_SELECTOR, 'a[href="/join"]')
    login = ask.find_element(By.CSS_SELECTOR, 'a[href="/login?next=/countries/AGO"]')
    assert join.is_displayed() and login.is_displayed()
    status = phone.find_element(By.ID, "status-title")
    assert join.rect["y"] < status.rect["y"], "the next action is below the tables"


def test_member_sees_write_to_this_government_first(server, phone):
    log_in_as(server, phone, server.member())
    phone.set_window_size(360, 800)
    phone.get(server.url("/countries/AGO"))
    write = phone.find_element(By.CSS_SELECTOR, 'section.ask a[href="/letters/new?country=AGO"]')
    status = phone.find_element(By.ID, "status-title")
    assert write.rect["y"] < status.rect["y"]
    width, client = fits(phone)
    assert width <= client

"""
A draft letter's page on a phone (issue 14, item 9): at 390 px it was a
2,500 to 3,000 px wall (the text twice: read and in the editing form, then
the sending form, the audience choices). Now the first screen says the
letter's state in words and holds the next action; the text is read once,
the editing is its own page (it works without JavaScript), and the page
stays short and never scrolls sideways, in English, Spanish, French and
Arabic.
"""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import log_in, set_language, started_site
from ratify_server import SLOW, scrape_csrf

PHONE = (390, 900)
LANGS = ("en", "es", "fr", "ar")
# The whole draft page at 390 px (it was about 2,500 px in English).
MAX_HEIGHT = 1500


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    yield from started_site(tmp_path_factory, "letter-page")


@pytest.fixture
def phone(browser):
    browser.set_window_size(*PHONE)
    yield browser
    browser.delete_all_cookies()
    browser.set_window_size(1280, 900)
    set_language(browser, "en")


def draft_letter(site):
    """A member of Angola and their draft from the preselected model
    letter: (client, path)."""
    member = site.factory.member("AGO", kind="organisation", organisation="Mosaiko",
                                 org_type="human_rights_ngo")
    c = member.client
    page = c.get("/letters/new", params={"country": "AGO"}).text
    (mid,) = re.findall(r'<option value="(\d+)" selected>', page)
    r = c.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                 "model": mid, "sender": "Mosaiko"})
    assert r.status_code == 303
    return c, r.headers["Location"]


def measure(driver):
    return driver.execute_script(
        "const e = document.documentElement; return [e.scrollHeight, e.scrollWidth, e.clientWidth]")


def top_and_bottom(driver, element):
    """The element's top and bottom in the page (not the viewport)."""
    return driver.execute_script(
        "const b = arguments[0].getBoundingClientRect();"
        "return [b.top + window.scrollY, b.bottom + window.scrollY]", element)


@pytest.mark.parametrize("lang", LANGS)
def test_draft_page_is_short_and_starts_with_the_next_action(site, phone, lang):
    client, path = draft_letter(site)
    log_in(site, phone, client)
    set_language(phone, lang)
    phone.get(site.url(path))
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    height, width, client_width = measure(phone)
    assert width <= client_width, f"{path} in {lang} scrolls sideways: {width} > {client_width}"
    assert height < MAX_HEIGHT, f"{path} in {lang} at 390 px is {height} px tall"
    # The first screen: the state in words, the next step, the actions.
    state = phone.find_element(By.ID, "letter-status")
    step = phone.find_element(By.ID, "next-step")
    edit = phone.find_element(By.ID, "edit-link")
    sending = phone.find_element(By.CSS_SELECTOR, "#sent-form h2")
    for element in (state, step, edit, sending):
        assert element.is_displayed() and element.text.strip(), element.get_attribute("outerHTML")
    assert state.text != "draft" and "_" not in state.text
    assert top_and_bottom(phone, edit)[1] <= PHONE[1], "Edit the text is below the first screen"
    assert top_and_bottom(phone, sending)[0] < PHONE[1], "the sending form starts below it"
    assert top_and_bottom(phone, step)[0] < top_and_bottom(phone, edit)[0]
    # The text once, to read: no form holds it on this page.
    assert len(phone.find_elements(By.CSS_SELECTOR, ".letter-text")) == 1
    assert not phone.find_elements(By.CSS_SELECTOR, "textarea#body, #edit-form")
    # Opened, it is read in full and still fits the screen's width.
    phone.find_element(By.CSS_SELECTOR, "#letter-read summary").click()
    text = phone.find_element(By.CSS_SELECTOR, "#letter-read .letter-text")
    assert text.is_displayed() and len(text.text) > 200
    height, width, client_width = measure(phone)
    assert width <= client_width


@pytest.mark.parametrize("lang", ("en", "ar"))
def test_editing_works_without_javascript_and_fits(site, phone, lang):
    client, path = draft_letter(site)
    log_in(site, phone, client)
    set_language(phone, lang)
    phone.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        phone.get(site.url(path))
        phone.find_element(By.ID, "edit-link").click()
        WebDriverWait(phone, 10 * SLOW).until(lambda d: d.find_elements(By.ID, "body"))
        body = phone.find_element(By.ID, "body")
        assert phone.current_url.endswith(path + "/edit")
        height, width, client_width = measure(phone)
        assert width <= client_width, f"{path}/edit in {lang}: {width} > {client_width}"
        body.send_keys(" Signed in Luanda.")
        phone.find_element(By.CSS_SELECTOR, "#edit-form button[type=submit]").click()
        WebDriverWait(phone, 10 * SLOW).until(lambda d: d.find_elements(By.ID, "letter-status"))
        assert phone.current_url.endswith(path)
        assert "Signed in Luanda." in phone.find_element(
            By.CSS_SELECTOR, "#letter-read .letter-text").get_attribute("textContent")
    finally:
        phone.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


@pytest.mark.parametrize("lang", LANGS)
def test_sent_letter_page_fits_and_offers_the_response_form(site, phone, lang):
    client, path = draft_letter(site)
    page = client.get(path).text
    r = client.post(path + "/sent", data={"csrf_token": scrape_csrf(page),
                                          "sent_on": "2026-10-01", "sent_via": "post",
                                          "visibility": "private"})
    assert r.status_code == 303
    log_in(site, phone, client)
    set_language(phone, lang)
    phone.get(site.url(path))
    height, width, client_width = measure(phone)
    assert width <= client_width, f"{path} (sent) in {lang}: {width} > {client_width}"
    assert not phone.find_elements(By.ID, "edit-link")
    step = phone.find_element(By.ID, "next-step")
    assert top_and_bottom(phone, step)[1] <= PHONE[1]
    assert phone.find_element(By.ID, "response-form").is_displayed()

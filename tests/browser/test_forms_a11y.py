"""
Forms and confirmations in the browser (issue 14): danger buttons are
readable (computed colours, WCAG AA 4.5:1), axe-core finds no critical or
serious violation on the pages of this work in four languages at 390 and
1366 px, and the join, letter and meeting flows work from the keyboard
alone.
"""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import axe_violations, log_in, set_language, started_site
from ratify_server import SLOW

SIZES = ((390, 844), (1366, 900))
LANGS = ("en", "es", "fr", "ar")


@pytest.fixture
def site(tmp_path_factory):
    """A server of its own per test: the join form's rate limit counts the
    sign-ups of the browser's address."""
    yield from started_site(tmp_path_factory, "forms")


CONTRAST = """
function lum(c) {
  const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const p = m[1].split(',').map(Number);
  if (p.length === 4 && p[3] === 0) return null;
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(p[0]) + 0.7152 * f(p[1]) + 0.0722 * f(p[2]);
}
function bg(el) {
  for (; el; el = el.parentElement) {
    const l = lum(getComputedStyle(el).backgroundColor);
    if (l !== null) return l;
  }
  return 1;
}
return Array.from(document.querySelectorAll(arguments[0])).map(el => {
  const a = lum(getComputedStyle(el).color), b = bg(el);
  return [el.outerHTML.slice(0, 80), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
});
"""


def contrasts(driver, selector):
    return driver.execute_script(CONTRAST, selector)


def test_danger_buttons_and_links_are_readable(site, browser):
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/tokens").text
    from ratify_server import scrape_csrf
    admin.post("/admin/tokens", data={"csrf_token": scrape_csrf(page), "name": "CRM",
                                      "scope": "read"})
    (tid,) = re.findall(r'href="/admin/tokens/(\d+)/revoke"', admin.get("/admin/tokens").text)
    log_in(site, browser, admin)
    try:
        for width, height in SIZES:
            browser.set_window_size(width, height)
            for path, selector in (("/admin/tokens", "a.danger"),
                                   (f"/admin/tokens/{tid}/revoke", "button.danger"),
                                   ("/admin/steering-committee", "button.link.danger, .danger")):
                browser.get(site.url(path))
                found = contrasts(browser, selector)
                if path != "/admin/steering-committee":
                    assert found, (path, selector)
                for html, ratio in found:
                    assert ratio >= 4.5, (path, width, html, ratio)
    finally:
        browser.set_window_size(1280, 900)


def test_no_serious_axe_violation_on_the_forms(site, browser):
    member = site.factory.member("AGO", name="Ana Dias", kind="organisation",
                                 organisation="Mosaiko", org_type="human_rights_ngo")
    c = member.client
    from ratify_server import scrape_csrf
    page = c.get("/letters/new", params={"country": "AGO"}).text
    (mid,) = re.findall(r'<option value="(\d+)" selected>', page)
    letter = c.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                      "model": mid, "sender": "Mosaiko"}).headers["Location"]
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    target = coord.post("/countries/AGO/targets",
                        data={"csrf_token": scrape_csrf(coord.get("/countries/AGO/targets").text),
                              "kind": "ministry", "name": "MIREX"})
    assert target.status_code == 303
    (tid,) = re.findall(r'href="/countries/AGO/targets/(\d+)/delete"',
                        coord.get("/countries/AGO/targets").text)
    # The member is in a working group, has a private calendar feed and a
    # meeting: the questions before leaving and revoking, and the meeting.
    assert c.post("/groups/legal/join", data={"csrf_token": scrape_csrf(page)}).status_code == 303
    assert c.post("/calendar/feed", data={"csrf_token": scrape_csrf(page)}).status_code == 200
    page = c.get("/meetings/new", params={"country": "AGO"}).text
    meeting = c.post("/meetings", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                        "meeting_on": "2026-12-10", "goal": "Ask for ratification",
                                        "new_target_name": "MIREX", "visibility": "country",
                                        "lang": "pt"}).headers["Location"]
    visitor_pages = ["/join"]
    member_pages = ["/letters/new?country=AGO", letter, letter + "/edit", "/letters",
                    "/profile/close", "/groups/legal/leave", "/calendar/feed/revoke",
                    "/meetings/new?country=AGO", meeting]
    coord_pages = [f"/countries/AGO/targets/{tid}/delete", "/countries/AGO/targets"]
    problems = []
    try:
        for width, height in SIZES:
            browser.set_window_size(width, height)
            for lang in LANGS:
                set_language(browser, lang)
                for who, pages in ((None, visitor_pages), (c, member_pages),
                                   (coord, coord_pages)):
                    browser.get(site.url("/"))
                    browser.delete_all_cookies()
                    if who is not None:
                        log_in(site, browser, who)
                    for path in pages:
                        browser.get(site.url(path))
                        assert f'lang="{lang}"' in browser.page_source, (path, lang)
                        for v in axe_violations(browser):
                            problems.append(f"{path} {lang} {width}px: {v}")
                # The join form with its errors shown.
                browser.delete_all_cookies()
                browser.get(site.url("/join"))
                browser.find_element(By.CSS_SELECTOR, 'form[action="/join"] button[type=submit]')
                browser.execute_script("document.querySelector('form[action=\"/join\"]')"
                                       ".noValidate = true;")
                browser.find_element(By.CSS_SELECTOR,
                                     'form[action="/join"] button[type=submit]').click()
                for v in axe_violations(browser):
                    problems.append(f"/join (errors) {lang} {width}px: {v}")
    finally:
        browser.set_window_size(1280, 900)
        set_language(browser, "en")
    assert not problems, "\n".join(problems)


def wait_for(driver, by, what):
    """The element once the page that has it has loaded (after a submit)."""
    WebDriverWait(driver, 10 * SLOW).until(lambda d: d.find_elements(by, what))
    return driver.find_element(by, what)


def tab_to(driver, element, limit=80):
    """Presses Tab until element has the focus (the keyboard's way there)."""
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(limit):
        if driver.switch_to.active_element == element:
            return
        driver.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached {element.get_attribute('outerHTML')[:80]}"
                         f" ({body.tag_name})")


def test_join_and_write_a_letter_with_the_keyboard_only(site, browser):
    browser.delete_all_cookies()
    browser.get(site.url("/join"))
    by_id = browser.find_element
    # Tab through the form: typing, Space to tick, Enter to send.
    for field, text in (("name", "Keyboard Person"), ("email", "keys@example.org")):
        tab_to(browser, by_id(By.ID, field))
        browser.switch_to.active_element.send_keys(text)
    tab_to(browser, by_id(By.ID, "iso3"))
    browser.switch_to.active_element.send_keys("Angola")
    pt = by_id(By.CSS_SELECTOR, 'input[name="languages"][value="pt"]')
    tab_to(browser, pt)
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    assert pt.is_selected()
    # A first try without the consent: the summary names the field and links
    # to it, and the tick on Portuguese is still there.
    tab_to(browser, by_id(By.ID, "not_government"))
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    submit = 'form[action="/join"] button[type=submit]'
    tab_to(browser, by_id(By.CSS_SELECTOR, submit))
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    summary = wait_for(browser, By.ID, "error-summary")
    assert "Consent to store your details" in summary.text
    assert by_id(By.CSS_SELECTOR, 'input[name="languages"][value="pt"]').is_selected()
    link = summary.find_element(By.CSS_SELECTOR, 'a[href="#consent_store"]')
    tab_to(browser, link)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert browser.execute_script("return location.hash") == "#consent_store"
    tab_to(browser, by_id(By.ID, "consent_store"))
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    tab_to(browser, by_id(By.CSS_SELECTOR, submit))
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(
        lambda d: "Check your email" in d.find_element(By.TAG_NAME, "h1").text)
    # A member writes a letter: From is filled, so Tab to the button and Enter.
    member = site.factory.member("AGO", name="Rui Lopes")
    log_in(site, browser, member.client)
    browser.get(site.url("/letters/new?country=AGO"))
    button = browser.find_element(By.CSS_SELECTOR, 'form[action="/letters"] button[type=submit]')
    tab_to(browser, button, limit=200)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(
        lambda d: re.search(r"/letters/\d+$", d.current_url))
    # The draft: edit its text on its own page, then record the sending,
    # with the keyboard.
    draft = browser.current_url
    edit = browser.find_element(By.ID, "edit-link")
    tab_to(browser, edit, limit=60)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    body = wait_for(browser, By.ID, "body")
    tab_to(browser, body, limit=60)
    browser.switch_to.active_element.send_keys(Keys.CONTROL, Keys.END)
    browser.switch_to.active_element.send_keys("\nTyped from the keyboard.")
    save = browser.find_element(By.CSS_SELECTOR, '#edit-form button[type=submit]')
    tab_to(browser, save, limit=40)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(lambda d: d.current_url == draft)
    read = browser.find_element(By.CSS_SELECTOR, "#letter-read summary")
    tab_to(browser, read, limit=40)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    text = browser.find_element(By.CSS_SELECTOR, "#letter-read .letter-text")
    assert text.is_displayed() and "Typed from the keyboard." in text.text
    sent_on = browser.find_element(By.ID, "sent_on")
    tab_to(browser, sent_on, limit=200)
    browser.execute_script("arguments[0].value = '2026-10-01'", sent_on)
    record = browser.find_element(By.CSS_SELECTOR, '#sent-form button[type=submit]')
    tab_to(browser, record, limit=40)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(
        lambda d: d.find_element(By.ID, "letter-status").text == "Sent")
    assert not browser.find_elements(By.ID, "edit-form")
    assert browser.find_elements(By.ID, "response-form")


def press(driver, *keys):
    """Types into (or presses keys on) the element that has the focus."""
    driver.switch_to.active_element.send_keys(*keys)


def type_date(driver, element, iso):
    """Types a date into a date field as a keyboard user does: the digits in
    the order the browser's field shows them (month, day, year in English)."""
    y, m, d = iso.split("-")
    press(driver, m + d + y)
    assert element.get_attribute("value") == iso, element.get_attribute("value")


def follow_summary_link(driver, anchor):
    """From the top of a page shown again, Tab to the error summary's link
    to anchor and follow it with Enter; the field is then the next stop."""
    link = wait_for(driver, By.CSS_SELECTOR, f'#error-summary a[href="#{anchor}"]')
    tab_to(driver, link, limit=40)
    press(driver, Keys.ENTER)
    assert driver.execute_script("return location.hash") == f"#{anchor}"
    tab_to(driver, driver.find_element(By.ID, anchor), limit=2)


def test_plan_hold_and_close_a_meeting_with_the_keyboard_only(site, browser):
    member = site.factory.member("AGO", name="Rui Lopes")
    log_in(site, browser, member.client)
    by = browser.find_element
    # From the country page, the link to plan a meeting.
    browser.get(site.url("/countries/AGO"))
    tab_to(browser, by(By.CSS_SELECTOR, 'a[href="/meetings/new?country=AGO"]'), limit=200)
    press(browser, Keys.ENTER)
    wait_for(browser, By.ID, "meeting_on")
    tab_to(browser, by(By.ID, "meeting_on"))
    type_date(browser, by(By.ID, "meeting_on"), "2026-12-10")
    tab_to(browser, by(By.ID, "meeting_time"))
    press(browser, "1030AM")
    assert by(By.ID, "meeting_time").get_attribute("value") == "10:30"
    # A zone by its city alone, a mistake to correct below.
    for field, text in (("time_zone", "Luanda"), ("place", "Palacio do Governo, Luanda"),
                        ("goal", "Ask the minister to put the Protocol before cabinet."),
                        ("new_target_name", "Ministry of Foreign Affairs")):
        tab_to(browser, by(By.ID, field))
        press(browser, text)
    # The audience: Tab enters the radio group at the one chosen.
    tab_to(browser, by(By.CSS_SELECTOR, 'input[name="visibility"]:checked'))
    submit = 'form[action="/meetings"] button[type=submit]'
    tab_to(browser, by(By.CSS_SELECTOR, submit))
    press(browser, Keys.ENTER)
    # Shown again with what was typed; the summary leads to the field.
    follow_summary_link(browser, "time_zone")
    assert by(By.ID, "time_zone").get_attribute("aria-invalid") == "true"
    assert by(By.ID, "new_target_name").get_attribute("value") == "Ministry of Foreign Affairs"
    press(browser, Keys.CONTROL, "a")
    press(browser, "Africa/Luanda")
    tab_to(browser, by(By.CSS_SELECTOR, submit))
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(lambda d: re.search(r"/meetings/\d+$", d.current_url))
    path = re.search(r"/meetings/\d+$", browser.current_url).group(0)
    assert "Ministry of Foreign Affairs" in by(By.TAG_NAME, "main").text
    # The panel to change the people stays closed (its Summary is one stop).
    assert by(By.ID, "people").get_attribute("open") is None
    # The brief: two key messages, one a line, and the delegation's notes.
    tab_to(browser, by(By.ID, "key_messages"), limit=200)
    press(browser, "Ratify before the review", Keys.ENTER, "Make the article 11 declaration")
    tab_to(browser, by(By.ID, "notes"))
    press(browser, "The minister asked about the cost.")
    tab_to(browser, by(By.CSS_SELECTOR, f'form[action="{path}/brief"] button[type=submit]'))
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "ol.key-messages li")) == 2)
    # Closing before anyone owns the follow-up is refused; the summary at
    # the top leads to the field, and the people panel stays closed.
    close = f'form[action="{path}/close"] button[type=submit]'
    tab_to(browser, by(By.CSS_SELECTOR, close), limit=200)
    press(browser, Keys.ENTER)
    follow_summary_link(browser, "followup_user")
    assert by(By.ID, "people").get_attribute("open") is None
    # The outcome: who follows up (typing the name in the list chooses it),
    # by when, what was said.
    press(browser, "Rui")
    assert by(By.CSS_SELECTOR, "#followup_user option:checked").text == "Rui Lopes"
    tab_to(browser, by(By.ID, "followup_due"))
    type_date(browser, by(By.ID, "followup_due"), "2027-01-15")
    tab_to(browser, by(By.ID, "said"), limit=200)
    press(browser, "The minister will consult the cabinet.")
    tab_to(browser, by(By.ID, "agreements"))
    press(browser, "A reply by January.")
    tab_to(browser, by(By.CSS_SELECTOR, f'form[action="{path}/outcome"] button[type=submit]'))
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(
        lambda d: "Rui Lopes" in d.find_element(By.ID, "outcome").text
        and "15 January 2027" in d.find_element(By.ID, "outcome").text)
    # Now it closes, from the keyboard too.
    tab_to(browser, by(By.CSS_SELECTOR, close), limit=200)
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10 * SLOW).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, f'form[action="{path}/close"]'))
    meeting = member.client.get("/api/v1" + path).json()["meeting"]
    assert meeting["state"] == "closed"
    assert meeting["key_messages"] == ["Ratify before the review",
                                       "Make the article 11 declaration"]
    assert meeting["time_zone"] == "Africa/Luanda" and meeting["meeting_time"] == "10:30"
    assert meeting["said"] == "The minister will consult the cabinet."

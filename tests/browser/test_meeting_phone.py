"""
A meeting with a government on a 360 px phone (issue 12, item 1): the form
that plans it and the meeting page (brief, key messages, outcome form) fit
the width, long words and addresses included; nothing scrolls sideways.
"""

import re

from selenium.webdriver.common.by import By

from ratify_server import scrape_csrf, session_cookie


def fits(driver):
    """Nothing wider than the page's visible width (without the vertical
    scroll bar, which window.innerWidth would count)."""
    inner, scroll = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    return scroll <= inner, (inner, scroll)


def test_meeting_pages_fit_a_phone(fresh_server, browser):
    server = fresh_server
    coord = server.member("coordinator", countries=("AGO",))
    client = server.login_user(coord)
    page = client.get("/countries/AGO/targets").text
    r = client.post("/countries/AGO/targets",
                    data={"csrf_token": scrape_csrf(page), "kind": "ministry",
                          "name": "Ministério das Relações Exteriores da República de Angola",
                          "title": "Ministro das Relações Exteriores", "language": "pt"})
    assert r.status_code == 303, r.text[:2000]
    page = client.get("/meetings/new", params={"country": "AGO"}).text
    target = re.findall(r'name="target" value="(\d+)"', page)[0]
    long_word = "https://www.mirex.gov.ao/" + "ratificacao-do-protocolo-facultativo-" * 4
    r = client.post("/meetings", data={
        "csrf_token": scrape_csrf(page), "country": "AGO", "meeting_on": "2026-12-10",
        "meeting_time": "10:30", "time_zone": "Africa/Luanda",
        "place": "Palácio do Governo, Luanda", "goal": f"Ask for ratification. {long_word}",
        "target": target, "lang": "pt", "visibility": "country"})
    assert r.status_code == 303, r.text[:2000]
    path = r.headers["Location"]
    page = client.get(path).text
    r = client.post(f"{path}/brief", data={
        "csrf_token": scrape_csrf(page), "version": "1",
        "key_messages": f"Ratify before the next review {long_word}\nMake the declarations",
        "notes": "Notes"})
    assert r.status_code == 303, r.text[:2000]

    browser.set_window_size(360, 740)
    try:
        browser.get(server.url("/"))
        browser.add_cookie({"name": "session", "value": session_cookie(client), "path": "/"})
        for url in ("/meetings/new?country=AGO", path, "/meetings"):
            browser.get(server.url(url))
            ok, sizes = fits(browser)
            assert ok, f"{url} overflows a 360 px screen: {sizes}"
        browser.get(server.url(path))
        items = browser.find_elements(By.CSS_SELECTOR, "ol.key-messages li")
        assert len(items) == 2
        assert browser.find_element(By.ID, "followup_user").is_displayed()
    finally:
        browser.set_window_size(1280, 900)

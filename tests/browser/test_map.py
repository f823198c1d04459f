"""
The /countries map in headless Chromium: it renders with real geometry,
colours states by status, every state is a link, and clicking a country on
the map opens its page with the ask. No JavaScript is involved.
"""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from ratify_server import SLOW

SCREENSHOT = "/tmp/ratify-countries.png"


def test_map_renders_and_links_to_countries(server, browser):
    driver = browser
    driver.get_log("browser")
    driver.get(server.url("/countries"))
    svg = driver.find_element(By.CSS_SELECTOR, "figure.map svg")
    width, height = svg.size["width"], svg.size["height"]
    assert width > 600 and height > 200, f"map is {width}x{height}"

    argentina = driver.find_element(By.CSS_SELECTOR, 'a[href="/countries/ARG"] path')
    box = argentina.size
    assert box["width"] > 10 and box["height"] > 20, "Argentina has no real shape"
    # Filled by the stylesheet with the party colour, not the default black.
    fill = argentina.value_of_css_property("fill")
    assert fill not in ("rgb(0, 0, 0)", ""), fill
    angola_fill = driver.find_element(
        By.CSS_SELECTOR, 'a[href="/countries/AGO"] path').value_of_css_property("fill")
    assert angola_fill != fill, "a signatory is coloured like a party"
    # Small states are markers.
    assert driver.find_elements(By.CSS_SELECTOR, 'a[href="/countries/MLT"] circle')
    assert driver.save_screenshot(SCREENSHOT)
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []

    # Click Brazil's shape (large, so its centre is on it) and land on its page.
    brazil = driver.find_element(By.CSS_SELECTOR, 'a[href="/countries/BRA"] path')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", brazil)
    brazil.click()
    WebDriverWait(driver, 15 * SLOW).until(EC.url_to_be(server.url("/countries/BRA")))
    ask = driver.find_element(By.CSS_SELECTOR, "section.ask").text
    assert "Sign and ratify the OP-ICESCR." in ask  # the short name since issue 11 item 5

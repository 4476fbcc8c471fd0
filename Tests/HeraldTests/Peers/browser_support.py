"""What the browser peers share: headless Chromium (started up to three times on a loaded
machine) and WCAG contrast from computed CSS colours."""
import re
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def browser(javascript, window=None):
    """Headless Chromium in English, with JavaScript on or off."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US"):
        options.add_argument(argument)
    if window:
        options.add_argument(f"--window-size={window}")
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    # Chromium may fail to start on a loaded machine (the whole suite runs in parallel):
    # starting the browser is tried three times; what it then does is not.
    for attempt in range(3):
        try:
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            driver.set_page_load_timeout(60)
            return driver
        except Exception as error:  # noqa: BLE001 - reported below if the last try fails too
            print(f"chromium did not start (try {attempt + 1}): {error}", file=sys.stderr)
            time.sleep(2)
    raise SystemExit("chromium did not start in three tries")


def luminance(css):
    r, g, b = [int(float(x)) for x in re.findall(r"[\d.]+", css)[:3]]

    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg, bg):
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def replaced(element):
    """A wait condition: `element`'s page is gone (the next one is loading or loaded).
    Chromium may answer "node does not belong to the document" rather than "stale" while
    the new page replaces the old: both mean gone."""
    from selenium.common.exceptions import WebDriverException

    def check(_driver):
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True

    return check

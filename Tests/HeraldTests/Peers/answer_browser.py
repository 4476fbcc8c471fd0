"""A client in a real browser (headless Chromium, driven by selenium): reads the reminder
email Herald's file driver delivered, opens its "manage" link, checks the page (language,
place, the appointment's time in the client's zone, a basic accessibility check), then,
with JavaScript switched off, clicks "confirm" and reads the answer.

stdin: {"eml": "/path/to/reminder.eml", "lang": "fr", "place": "Salon Lumière",
        "starts_at": 1780000000, "zone": "America/Toronto", "button": "confirm"}
stdout: {"url": ..., "lang": ..., "text": page text, "problems": [accessibility problems],
         "after": text after clicking, "status_url": URL after clicking}
"""
import datetime
import email
import email.policy
import json
import re
import sys
import time
import zoneinfo

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

job = json.load(sys.stdin)
with open(job["eml"], "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)
html = message.get_body(preferencelist=("html",)).get_content()
links = re.findall(r'href="(http://[^"]+/answer/[^"]+)"', html)
if len(links) != 3:
    raise SystemExit(f"expected the confirm, cancel and manage links in the reminder, found {links}")
manage = links[2]


def browser(javascript):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US"):
        options.add_argument(argument)
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
    r, g, b = [int(x) for x in re.findall(r"[\d.]+", css)[:3]]

    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg, bg):
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


result = {"url": manage, "problems": []}
with browser(javascript=True) as driver:
    driver.get(manage)
    result["lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    result["text"] = driver.find_element(By.TAG_NAME, "body").text
    result["title"] = driver.title
    problems = result["problems"]
    if not result["title"].strip():
        problems.append("the page has no title")
    if not driver.find_elements(By.TAG_NAME, "h1"):
        problems.append("the page has no heading")
    page_bg = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    for element in driver.find_elements(By.CSS_SELECTOR, "p, h1, strong"):
        ratio = contrast(element.value_of_css_property("color"), page_bg)
        if ratio < 4.5:
            problems.append(f"text '{element.text[:30]}' has contrast {ratio:.2f} < 4.5")
    controls = driver.find_elements(By.CSS_SELECTOR, "button, input:not([type=hidden]), select, textarea, a")
    if len(driver.find_elements(By.TAG_NAME, "button")) != 2:
        problems.append("expected two buttons")
    for control in controls:
        name = (control.accessible_name or "").strip()
        if not name:
            problems.append(f"a {control.tag_name} has no accessible name (label)")
        if control.tag_name == "button":
            ratio = contrast(control.value_of_css_property("color"), control.value_of_css_property("background-color"))
            if ratio < 4.5:
                problems.append(f"button '{name}' has contrast {ratio:.2f} < 4.5")
    for form in driver.find_elements(By.TAG_NAME, "form"):
        if not (form.accessible_name or form.get_attribute("aria-label")):
            problems.append("a form has no label")
    scripts = driver.find_elements(By.TAG_NAME, "script")
    if scripts:
        problems.append(f"the page has {len(scripts)} scripts")

starts = datetime.datetime.fromtimestamp(job["starts_at"], zoneinfo.ZoneInfo(job["zone"]))
result["local_time"] = starts.strftime("%H:%M")
if result["local_time"] not in result["text"] or f"({job['zone']})" not in result["text"]:
    result["problems"].append(f"the page does not show {result['local_time']} ({job['zone']}): {result['text']}")
if job["place"] not in result["text"]:
    result["problems"].append(f"the page does not name {job['place']}")

with browser(javascript=False) as driver:
    driver.get(manage)
    button = driver.find_element(By.CSS_SELECTOR, f"button[value={job['button']}]")
    old_body = driver.find_element(By.TAG_NAME, "body")
    button.click()
    # The form posts and the browser loads the answer page: wait until the old page is
    # gone, then read the new one (reading at once can catch the old body as it goes).
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(old_body))
    for _ in range(50):
        try:
            result["after"] = driver.find_element(By.TAG_NAME, "body").text
            break
        except StaleElementReferenceException:
            time.sleep(0.1)
    result["status_url"] = driver.current_url

print(json.dumps(result))

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

from browser_support import browser, contrast, replaced
from selenium.webdriver.common.by import By

job = json.load(sys.stdin)
with open(job["eml"], "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)
html = message.get_body(preferencelist=("html",)).get_content()
links = re.findall(r'href="(http://[^"]+/answer/[^"]+)"', html)
if len(links) != 3:
    raise SystemExit(f"expected the confirm, cancel and manage links in the reminder, found {links}")
manage = links[2]


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
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 20).until(replaced(old_body))
    for _ in range(50):
        try:
            result["after"] = driver.find_element(By.TAG_NAME, "body").text
            break
        except StaleElementReferenceException:
            time.sleep(0.1)
    result["status_url"] = driver.current_url

print(json.dumps(result))

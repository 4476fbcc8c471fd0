"""People using the console in a real browser (headless Chromium through selenium), with
JavaScript off unless a step says otherwise: every page must work from its forms alone.

stdin: {"base": "http://127.0.0.1:PORT", "scenario": "operator"|"editor"|"viewer"|"demo",
        "shots": "/dir/for/screenshots", ...the scenario's own values}
stdout: {"seen": {...what the scenario read...}, "problems": [...accessibility and
         content problems...], "shots": {"name": "/path.png"}}
Each page visited is checked as the answer page is: lang, title, one h1, every control and
form named, text and button contrast from computed styles (4.5:1), every control reachable
with the keyboard, nothing loaded from elsewhere.
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from browser_support import browser as shared_browser, contrast, replaced
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

job = json.load(sys.stdin)
base = job["base"]
seen = {}
problems = []
shots = {}


def browser(javascript=False):
    return shared_browser(javascript, window="1280,1400")


def transparent(css):
    return css in ("transparent", "rgba(0, 0, 0, 0)")


def background(element):
    """The colour behind an element: its own, or the first ancestor's that is not transparent."""
    node = element
    for _ in range(30):
        colour = node.value_of_css_property("background-color")
        if not transparent(colour):
            return colour
        try:
            node = node.find_element(By.XPATH, "..")
        except WebDriverException:
            break
        if node.tag_name == "html":
            colour = node.value_of_css_property("background-color")
            return "rgb(255, 255, 255)" if transparent(colour) else colour
    return "rgb(255, 255, 255)"


def body_text(driver):
    for _ in range(50):
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except StaleElementReferenceException:
            time.sleep(0.1)
    return ""


def check(driver, page, keyboard=False):
    """The page's accessibility and self-containment problems, named after `page`."""
    found = []
    lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    if lang not in ("es", "fr", "en"):
        found.append(f"lang is {lang!r}")
    if not driver.title.strip():
        found.append("no title")
    if len(driver.find_elements(By.TAG_NAME, "h1")) != 1:
        found.append("not exactly one h1")
    for element in driver.find_elements(By.CSS_SELECTOR, "p, h1, h2, h3, td, th, label, li, dt, dd, caption, a, span.status, strong"):
        if not element.is_displayed() or not element.text.strip():
            continue
        ratio = contrast(element.value_of_css_property("color"), background(element))
        if ratio < 4.5:
            found.append(f"text '{element.text[:30]}' has contrast {ratio:.2f} < 4.5")
    controls = [c for c in driver.find_elements(By.CSS_SELECTOR, "button, input:not([type=hidden]), select, textarea, a[href], summary") if c.is_displayed()]
    for control in controls:
        if not (control.accessible_name or "").strip():
            found.append(f"a {control.tag_name} ({control.get_attribute('name') or control.get_attribute('href')}) has no accessible name")
        if control.tag_name == "button":
            ratio = contrast(control.value_of_css_property("color"), background(control))
            if ratio < 4.5:
                found.append(f"button '{control.text}' has contrast {ratio:.2f} < 4.5")
        tabindex = control.get_attribute("tabindex")
        if tabindex is not None and tabindex.strip() not in ("", "0"):
            found.append(f"a {control.tag_name} has tabindex {tabindex}")
    for form in driver.find_elements(By.TAG_NAME, "form"):
        if not (form.accessible_name or form.get_attribute("aria-label")):
            found.append("a form has no name")
    origin = urllib.parse.urlsplit(base)
    for element, attribute in [(e, "href") for e in driver.find_elements(By.CSS_SELECTOR, "link")] + \
                              [(e, "src") for e in driver.find_elements(By.CSS_SELECTOR, "script, img, iframe")]:
        url = urllib.parse.urlsplit(element.get_attribute(attribute) or "")
        if (url.scheme, url.netloc) != (origin.scheme, origin.netloc) or not url.path.startswith("/console/static/"):
            found.append(f"loads {url.geturl()} from elsewhere")
    if keyboard:
        # Tab through the page from its start (a page just loaded: nothing clicked yet):
        # every visible control must take the focus.
        reached = set()
        for _ in range(len(controls) + 5):
            active = driver.switch_to.active_element
            active.send_keys(Keys.TAB)
            reached.add(driver.switch_to.active_element.id)
        missed = [c for c in controls if c.id not in reached]
        if missed:
            found.append(f"{len(missed)} controls not reached with Tab, e.g. {missed[0].tag_name} {missed[0].accessible_name!r}")
    problems.extend(f"{page}: {p}" for p in found)


def shot(driver, name):
    path = f"{job['shots']}/{name}.png"
    driver.save_screenshot(path)
    shots[name] = path


def click_and_wait(driver, element):
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(replaced(old))
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.TAG_NAME, "h1"))


def button(driver, label, within=None):
    scope = within or driver
    for b in scope.find_elements(By.TAG_NAME, "button"):
        if b.text.strip() == label:
            return b
    raise SystemExit(f"no button {label!r} on {driver.current_url}: {body_text(driver)[:500]}")


def sign_in(driver, user, password):
    driver.get(base + "/console")
    driver.find_element(By.ID, "f-name").send_keys(user)
    driver.find_element(By.ID, "f-password").send_keys(password)
    click_and_wait(driver, button(driver, "Sign in"))
    if "/sign-in" in driver.current_url:
        raise SystemExit(f"sign-in as {user} failed: {driver.current_url}: {driver.page_source[-2500:]} cookies {[c['name'] for c in driver.get_cookies()]}")


def post_as(driver, path, fields):
    """A POST another page (or a script) could make with this browser's session cookie."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(base + path, data=urllib.parse.urlencode(fields).encode(), method="POST",
                                     headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def csrf(driver):
    return driver.find_element(By.CSS_SELECTOR, "input[name=_csrf]").get_attribute("value")


def operator():
    with browser() as driver:
        sign_in(driver, job["user"], job["password"])
        check(driver, "dashboard", keyboard=True)
        seen["charts"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.chart"))
        seen["dashboard"] = body_text(driver)
        shot(driver, "dashboard")
        # Find the client whose SMS was suppressed, and see why.
        driver.get(base + "/console/clients")
        driver.find_element(By.ID, "f-q").send_keys(job["client_query"])
        click_and_wait(driver, button(driver, "Search"))
        click_and_wait(driver, driver.find_element(By.LINK_TEXT, job["client_name"]))
        check(driver, "client", keyboard=True)
        seen["client"] = body_text(driver)
        seen["client_url"] = driver.current_url
        shot(driver, "client")
        # Retry the failed batch after confirming the count.
        driver.get(base + "/console/messages")
        Select(driver.find_element(By.ID, "f-status")).select_by_value("failed")
        driver.find_element(By.ID, "f-recipient").send_keys(job["failed_recipient"])
        click_and_wait(driver, button(driver, "Search"))
        check(driver, "messages")
        seen["failed_listed"] = len(driver.find_elements(By.CSS_SELECTOR, "tbody tr"))
        click_and_wait(driver, button(driver, "Retry the failed and undelivered"))
        check(driver, "confirm")
        seen["confirm"] = driver.find_element(By.ID, "count").text
        click_and_wait(driver, button(driver, "Yes, retry them"))
        seen["after_retry"] = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
        # A form posted without its token is refused.
        seen["without_csrf"] = post_as(driver, f"/console/messages/{job['failed_id']}", {"do": "retry"})
        # Sign out: the session is over.
        click_and_wait(driver, button(driver, "Sign out"))
        driver.get(base + "/console/messages")
        seen["after_sign_out"] = driver.current_url


def editor():
    with browser() as driver:
        sign_in(driver, job["user"], job["password"])
        path = "/console/templates/" + job["template"]
        driver.get(base + path)
        area = driver.find_element(By.ID, "f-body")
        area.clear()
        area.send_keys(job["text"])
        click_and_wait(driver, button(driver, "Preview"))
        seen["preview"] = driver.find_element(By.ID, "preview").text
        click_and_wait(driver, button(driver, "Check the impact and save"))
        check(driver, "template editor", keyboard=True)
        seen["impact"] = driver.find_element(By.ID, "impact-summary").text
        shot(driver, "template-editor")
        click_and_wait(driver, button(driver, "Save now"))
        seen["saved"] = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
        seen["history"] = driver.find_element(By.ID, "hist").find_element(By.XPATH, "..").text
        # Several rules at once: two selected, channels changed, previewed, applied.
        driver.get(base + "/console/rules")
        check(driver, "rules")
        for name in job["rules"]:
            driver.find_element(By.CSS_SELECTOR, f"input[name=rule][value='{name}']").click()
        driver.find_element(By.ID, "ch-email").click()
        click_and_wait(driver, button(driver, "Preview the change"))
        check(driver, "rules preview")
        seen["rules_preview"] = body_text(driver)
        click_and_wait(driver, button(driver, "Apply the change"))
        seen["rules_after"] = body_text(driver)
    # With JavaScript, the preview follows the typing.
    with browser(javascript=True) as driver:
        sign_in(driver, job["user"], job["password"])
        driver.get(base + "/console/templates/" + job["template"])
        if not driver.find_elements(By.ID, "f-body"):
            raise SystemExit(f"no editor at {driver.current_url}: {body_text(driver)[:800]}")
        area = driver.find_element(By.ID, "f-body")
        area.clear()
        area.send_keys(job["live_text"])
        try:
            WebDriverWait(driver, 20).until(lambda d: job["live_expect"] in d.find_element(By.ID, "preview").text)
            seen["live_preview"] = driver.find_element(By.ID, "preview").text
        except WebDriverException:
            seen["live_preview"] = ""


def viewer():
    with browser() as driver:
        sign_in(driver, job["user"], job["password"])
        driver.get(base + job["client_path"])
        check(driver, "client (viewer)")
        shot(driver, "viewer-client")
        seen["buttons"] = [b.text for b in driver.find_elements(By.TAG_NAME, "button")]
        seen["reach"] = driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby=reachable]").text
        seen["forged"] = post_as(driver, f"/console/messages/{job['failed_id']}", {"do": "retry", "_csrf": csrf(driver)})
        driver.get(base + "/console/users")
        seen["users_status_title"] = driver.find_element(By.TAG_NAME, "h1").text


def demo():
    with browser() as driver:
        driver.get(base + "/console")
        seen["sign_in_lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
        # The demo's people work in Spanish: switch the console's language.
        driver.find_element(By.CSS_SELECTOR, "a[lang=es]").click()
        driver.find_element(By.ID, "f-name").send_keys(job["user"])
        driver.find_element(By.ID, "f-password").send_keys(job["password"])
        click_and_wait(driver, button(driver, "Iniciar sesión"))
        check(driver, "demo dashboard")
        shot(driver, "demo-dashboard")
        driver.get(base + "/console/clients")
        driver.find_element(By.ID, "f-q").send_keys("Lucía")
        click_and_wait(driver, button(driver, "Buscar"))
        click_and_wait(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "Lucía"))
        check(driver, "demo client", keyboard=True)
        seen["client"] = body_text(driver)
        seen["details"] = [d.find_element(By.TAG_NAME, "summary").text for d in driver.find_elements(By.TAG_NAME, "details")]
        for d in driver.find_elements(By.TAG_NAME, "summary")[:3]:
            d.click()
        seen["client_open"] = body_text(driver)
        shot(driver, "demo-client")
        driver.get(base + "/console/templates/appointment.reminder/sms/es")
        area = driver.find_element(By.ID, "f-body")
        area.clear()
        area.send_keys(job["text"])
        click_and_wait(driver, button(driver, "Vista previa"))
        check(driver, "demo template editor", keyboard=True)
        seen["preview"] = driver.find_element(By.ID, "preview").text
        shot(driver, "demo-template-editor")


{"operator": operator, "editor": editor, "viewer": viewer, "demo": demo}[job["scenario"]]()
print(json.dumps({"seen": seen, "problems": problems, "shots": shots}))

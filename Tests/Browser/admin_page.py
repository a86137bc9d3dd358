#!/usr/bin/env python3
"""The admin page in a real browser: Debian's headless Chromium driven through WebDriver
(chromium-driver, with Selenium from PyPI). Run by Tests/EndToEndTests/AdminBrowserTests.swift,
which seeds the shop and checks what this script reports (one JSON object on standard output)
against the database and the fake Stripe.

Input (JSON on standard input): base (the admin page's URL), totp_admin, totp_secret (base32),
admin, password, refund_email, refund_amount (a decimal), erase_email, artifacts (a folder for
screenshots).
"""
import base64
import hashlib
import hmac
import json
import struct
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.support.ui import WebDriverWait


def totp(secret_base32, at=None):
    """RFC 6238 with HMAC-SHA1, 30-second steps, six digits (what an authenticator app shows)."""
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    key = base64.b32decode(padded)
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


def main():
    spec = json.load(sys.stdin)
    base = spec["base"]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    out = {}
    try:
        def submit(button):
            """Clicks a form's button and waits for the next page: a click does not wait for the
            POST's answer, and a later navigation could race it (a sign-out's cookie arriving
            after the next sign-in's)."""
            page = driver.find_element(By.TAG_NAME, "html")
            button.click()

            def replaced(_):
                # Chromium reports a node of the page just left either as stale or, while the
                # next page is being attached, as "Node ... does not belong to the document":
                # both mean the old page is gone.
                try:
                    page.is_enabled()
                    return False
                except (StaleElementReferenceException, WebDriverException):
                    return True
            WebDriverWait(driver, 15).until(replaced)

        def notice():
            found = driver.find_elements(By.CSS_SELECTOR, "p.notice")
            return found[0].text if found else None

        def sign_in(email, password, code=""):
            driver.get(base + "/sign-in")
            driver.find_element(By.NAME, "email").send_keys(email)
            driver.find_element(By.NAME, "password").send_keys(password)
            if code:
                driver.find_element(By.NAME, "code").send_keys(code)
            submit(driver.find_element(By.CSS_SELECTOR, "form[action$='/sign-in'] button"))

        def search(term):
            box = driver.find_element(By.CSS_SELECTOR, "header input[name=q]")
            box.send_keys(term)
            submit(driver.find_element(By.CSS_SELECTOR, "header form[role=search] button"))

        def confirm_and_submit(form):
            form.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
            submit(form.find_element(By.CSS_SELECTOR, "button"))

        # Nothing without a session: the dashboard sends the browser to sign in.
        driver.get(base + "/")
        out["unauthenticated_url"] = driver.current_url
        out["unauthenticated_has_revenue"] = len(driver.find_elements(By.ID, "revenue")) > 0

        # TOTP: a wrong code is refused, the right one signs in.
        sign_in(spec["totp_admin"], spec["password"], "000000" if totp(spec["totp_secret"]) != "000000" else "111111")
        out["wrong_code_notice"] = notice()
        out["wrong_code_url"] = driver.current_url
        sign_in(spec["totp_admin"], spec["password"], totp(spec["totp_secret"]))
        out["totp_dashboard_title"] = driver.title

        # The dashboard: revenue table, charts drawn with their data tables beside them.
        out["revenue"] = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
                          for row in driver.find_elements(By.CSS_SELECTOR, "#revenue tbody tr")]
        charts = {}
        for figure in driver.find_elements(By.TAG_NAME, "figure"):
            svg = figure.find_element(By.TAG_NAME, "svg")
            marks = figure.find_elements(By.CSS_SELECTOR, "rect.bar, circle.point")
            charts[svg.get_attribute("aria-labelledby").split(" ")[0].replace("-title", "")] = {
                "title": figure.find_element(By.TAG_NAME, "figcaption").text,
                "width": svg.size["width"], "height": svg.size["height"],
                "sum": sum(int(mark.get_attribute("data-value")) for mark in marks),
                "marks": len(marks),
                "table_rows": len(figure.find_elements(By.CSS_SELECTOR, "table tbody tr")),
            }
        out["charts"] = charts
        out["mrr"] = driver.find_element(By.ID, "mrr").text
        driver.set_window_size(1400, 3300)
        driver.save_screenshot(spec["artifacts"] + "/dashboard.png")
        driver.set_window_size(1400, 1000)

        # Search by email (a POST: the email never enters a URL) to the customer's page.
        search(spec["refund_email"])
        out["customer_url"] = driver.current_url
        out["customer_orders"] = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")][:5]
                                  for row in driver.find_elements(By.CSS_SELECTOR, "#orders tbody tr")]
        out["customer_email"] = driver.find_element(By.CSS_SELECTOR, "#customer tbody tr td").text
        driver.set_window_size(1400, 1500)
        driver.save_screenshot(spec["artifacts"] + "/customer.png")
        driver.set_window_size(1400, 1000)

        # A partial refund, confirmed.
        form = driver.find_element(By.CSS_SELECTOR, "#orders form[action$='/actions/refund']")
        form.find_element(By.NAME, "amount").send_keys(spec["refund_amount"])
        confirm_and_submit(form)
        out["refund_notice"] = notice()
        out["refund_url"] = driver.current_url

        # Signing out ends the session; then the admin without TOTP signs in.
        submit(driver.find_element(By.CSS_SELECTOR, "header form[action$='/sign-out'] button"))
        out["signed_out_url"] = driver.current_url
        driver.get(base + "/")
        out["after_sign_out_url"] = driver.current_url
        sign_in(spec["admin"], spec["password"])
        out["plain_dashboard_title"] = driver.title

        # Erasing a customer from their page.
        search(spec["erase_email"])
        confirm_and_submit(driver.find_element(By.CSS_SELECTOR, "form[action$='/actions/erase']"))
        out["erase_notice"] = notice()
        out["erased_email"] = driver.find_element(By.CSS_SELECTOR, "#customer tbody tr td").text
        out["visited_urls_hold_at_sign"] = "@" in driver.current_url or "%40" in driver.current_url
    except Exception:
        # What the browser had in front of it, for whoever reads the failure.
        with open(spec["artifacts"] + "/failure.html", "w") as page:
            page.write(driver.current_url + "\n" + driver.page_source)
        driver.save_screenshot(spec["artifacts"] + "/failure.png")
        raise
    finally:
        driver.quit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

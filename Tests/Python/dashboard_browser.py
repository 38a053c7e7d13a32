"""Drives the coordinator's dashboard in Debian's Chromium (through chromedriver and Selenium,
both from the system: /usr/bin/chromium, /usr/bin/chromedriver; nothing downloads a browser) as
an operator would, and prints one JSON document of what it saw. Screenshots of every page go
to OUT_DIR. Used by Tests/EndToEndTests/DashboardEndToEndTests.swift.

    python dashboard_browser.py BASE_URL ADMIN_TOKEN NODE_NAME ROLLOUT_VERSION OUT_DIR
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--ignore-certificate-errors", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    base, token, node, version, out = sys.argv[1:6]
    result = {}
    driver = browser()
    wait = WebDriverWait(driver, 20)
    shot = lambda name: driver.save_screenshot(f"{out}/{name}.png")
    text = lambda css: driver.find_element(By.CSS_SELECTOR, css).text
    try:
        # Not signed in: every page leads to the sign-in form; a wrong token is refused.
        driver.get(f"{base}/ui/nodes")
        result["redirected_to_sign_in"] = "/ui/sign-in" in driver.current_url
        driver.find_element(By.ID, "token").send_keys("flt_admin_wrong")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".error")))
        result["wrong_token_message"] = text(".error")
        result["wrong_token_still_signed_out"] = "/ui/sign-in" in driver.current_url
        shot("sign-in-refused")

        # Sign in: back to the page first asked for.
        driver.get(f"{base}/ui/nodes")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(EC.presence_of_element_located((By.ID, "nodes-table")))
        result["after_sign_in_url"] = driver.current_url
        cookie = driver.get_cookie("flotilla_session") or {}
        result["session_cookie"] = {k: cookie.get(k) for k in ("httpOnly", "secure", "sameSite", "path")}
        result["nodes_rows"] = len(driver.find_elements(By.CSS_SELECTOR, "#nodes-table tbody tr"))
        result["nodes_first_row"] = driver.find_element(By.CSS_SELECTOR, "#nodes-table tbody tr").text
        shot("nodes")

        # Overview: counts, spend, and live updates over server-sent events.
        driver.get(f"{base}/ui/")
        result["overview"] = {key: text(f'[data-live="nodes-{key}"]') for key in ("total", "online", "stale", "offline", "pending")}
        result["spend_today"] = text("#spend-today")
        result["budget_rows"] = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#budget-table tbody tr")]
        WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "live-stamp").text.startswith("live"))
        result["live_updates"] = True
        shot("overview")

        # A node's page: charts drawn from its heartbeats.
        driver.get(f"{base}/ui/nodes/{node}?range=hour")
        result["node_chart_points"] = {
            chart: int(driver.find_element(By.ID, chart).get_attribute("data-points"))
            for chart in ("chart-cpu", "chart-memory", "chart-disk", "chart-temperature", "chart-spend")
        }
        result["node_cpu_polyline"] = len(driver.find_elements(By.CSS_SELECTOR, "#chart-cpu polyline, #chart-cpu circle"))
        result["node_model_rows"] = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#model-spend tbody tr")]
        result["certificate_expiry"] = text("#certificate-expiry")
        shot("node")

        # A rollout paused from its page; a form without the CSRF token is refused.
        driver.get(f"{base}/ui/rollouts/{version}")
        result["rollout_state_before"] = text("#rollout-state")
        driver.execute_script("document.querySelector('#pause').form.querySelector('input[name=csrf]').value = 'forged';")
        driver.find_element(By.ID, "pause").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".error")))
        result["missing_csrf_message"] = text(".error")
        driver.get(f"{base}/ui/rollouts/{version}")
        result["rollout_state_after_forged"] = text("#rollout-state")
        driver.find_element(By.ID, "pause").click()
        wait.until(EC.presence_of_element_located((By.ID, "notice")))
        result["rollout_notice"] = text("#notice")
        result["rollout_state_after"] = text("#rollout-state")
        result["resume_offered"] = len(driver.find_elements(By.ID, "resume")) == 1
        shot("rollout")
        driver.get(f"{base}/ui/rollouts")
        shot("rollouts")

        for page in ("budgets", "usage", "audit"):
            driver.get(f"{base}/ui/{page}")
            shot(page)
        driver.get(f"{base}/ui/audit")
        result["audit_status"] = text("#audit-status")
        result["audit_actions"] = [row.find_elements(By.TAG_NAME, "td")[4].text for row in driver.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")]
        result["audit_actors"] = [row.find_elements(By.TAG_NAME, "td")[2].text for row in driver.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")]

        # Readable at phone width: the page itself does not scroll sideways.
        driver.set_window_size(390, 844)
        for page in ("", "nodes", f"nodes/{node}"):
            driver.get(f"{base}/ui/{page}")
            result.setdefault("phone_overflow", {})[page or "overview"] = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth;")
        shot("nodes-phone")
        driver.set_window_size(1280, 1000)

        # Keyboard: Tab from the top of the page reaches the sign-out button; Enter presses it.
        driver.get(f"{base}/ui/")
        console = [entry["message"] for entry in driver.get_log("browser")]
        result["csp_violations"] = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
        sign_out = driver.find_element(By.CSS_SELECTOR, ".sign-out button")
        result["sign_out_reached_by_tab"] = False
        for _ in range(20):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            if driver.switch_to.active_element == sign_out:
                result["sign_out_reached_by_tab"] = True
                break
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        wait.until(EC.url_contains("/ui/sign-in"))
        driver.get(f"{base}/ui/")
        result["signed_out"] = "/ui/sign-in" in driver.current_url
    except Exception as error:  # report what was seen so far, with the page, for the test's message
        result["error"] = f"{type(error).__name__}: {error}"
        result["page"] = driver.page_source[:3000]
        shot("failure")
    finally:
        driver.quit()
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Screenshots of a running coordinator's dashboard for the README (docs/images/), taken in
Debian's Chromium through Selenium (the test virtualenv has it: scripts/test.sh creates .venv-test).

    .venv-test/bin/python scripts/dashboard-screenshots.py DATA_DIR OUT_DIR [NODE]

Run it against `scripts/demo.sh`'s coordinator (DATA_DIR ~/.local/share/flotilla) after a few
minutes, so the node charts have points.
"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main():
    data, out = sys.argv[1], sys.argv[2]
    node = sys.argv[3] if len(sys.argv) > 3 else "demo-1"
    base = open(f"{data}/admin.url").read().strip()
    token = open(f"{data}/admin.token").read().strip()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1500", "--ignore-certificate-errors"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"{base}/ui/sign-in")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        for name, path in (("dashboard-overview", "/ui/"), ("dashboard-node", f"/ui/nodes/{node}?range=hour")):
            driver.get(base + path)
            driver.save_screenshot(f"{out}/{name}.png")
            print(f"{out}/{name}.png")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()

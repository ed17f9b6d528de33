"""A real headless Chromium (Debian's chromium + chromedriver) driven by Selenium, for the pages deepfit
writes and serves. Outside CI a missing browser skips the test and says what to install; under CI
(CI=true) it fails, so a green CI run always includes the browser tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("DEEPFIT_SCREENSHOT_DIR", REPO / "test-artifacts"))
LAPTOP = (1366, 768)
INSTALL = "apt-get install chromium chromium-driver, and pip install -r requirements-dev.txt (selenium)"


def start_chromium():
    """A headless Chromium at a laptop's width, with its console log kept; skips (or, under CI, fails)
    when the browser, its driver or Selenium is missing."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        browser = None
    if browser is None or driver is None:
        missing = "Chromium" if browser is None else "chromedriver"
        message = f"{missing} (or selenium) is not installed; the browser tests need it: {INSTALL}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={LAPTOP[0]},{LAPTOP[1]}", "--autoplay-policy=no-user-gesture-required",
                     # a made-up camera (a test pattern) and microphone (a beep), allowed without asking
                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


PAGE_PROBLEMS = """
const problems = [];
const width = window.innerWidth;
if (document.documentElement.scrollWidth > width)
  problems.push(`the page is ${document.documentElement.scrollWidth}px wide at a ${width}px window`);
for (const img of document.images) {
  if (!img.complete || img.naturalWidth === 0) problems.push(`image "${img.alt}" did not load`);
  const box = img.getBoundingClientRect();
  if (box.right > width + 1 && !img.closest('.scroll')) problems.push(`image "${img.alt}" overflows to ${box.right}px`);
}
// inside a box that scrolls sideways (a wide table, a code block) and fits the window, by design
const scrolled = (el) => {
  for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
    const overflow = getComputedStyle(box).overflowX;
    if ((overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden')
        && box.getBoundingClientRect().right <= width + 1) return true;
  }
  return false;
};
for (const el of document.querySelectorAll('main *')) {
  if (el.closest('.scroll') || scrolled(el)) continue;
  const box = el.getBoundingClientRect();
  if (box.width > 0 && box.right > width + 1) problems.push(`<${el.tagName.toLowerCase()}> overflows to ${Math.round(box.right)}px`);
}
return problems.slice(0, 10);
"""


def page_problems(driver) -> list[str]:
    """What a person would see wrong at a laptop's width: broken images, things sticking out."""
    return driver.execute_script(PAGE_PROBLEMS)


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def save_screenshot(driver, name: str) -> Path:
    """The whole page as a PNG under test-artifacts/ (or $DEEPFIT_SCREENSHOT_DIR) for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(LAPTOP[0], min(max(LAPTOP[1], height + 120), 16_000))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(*LAPTOP)
    return path


def texts_of(driver, selector: str) -> list[str]:
    """The text of every element `selector` finds, read in one script: a page that replaces its
    answers as they arrive can remove an element between two WebDriver calls."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim());", selector)

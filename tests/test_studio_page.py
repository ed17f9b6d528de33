"""deepfit studio in a real headless Chromium, used as a person uses it: make a project, add two
classes and their examples, check the data, train and watch the curve, cancel and train again, read
the report, try the model and download it; then the downloaded file answers as the page did."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import console_errors, page_problems, save_screenshot, texts_of
from conftest import write_digit_pictures
from live_server import LiveServer
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

import deepfit
from deepfit.studio import create_studio

pytestmark = pytest.mark.slow

UNLABELLED_CONTROLS = """
return Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(e => e.offsetParent !== null)
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
  .map(e => e.outerHTML.slice(0, 80));
"""


def wait_for(driver, condition, timeout: float = 60, what: str = ""):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message=what)


def message(driver) -> str:
    return driver.execute_script("return document.getElementById('message').innerText")


def run_status(driver) -> str:
    return driver.execute_script("return document.getElementById('progress-box').dataset.status || ''")


def make_project(driver, url: str, name: str, kind: str, *, by_keyboard: bool = False) -> None:
    driver.get(url)
    wait_for(driver, lambda d: d.find_element(By.ID, "project-name").is_displayed())
    if by_keyboard:  # Tab to the name, type it, Tab to the kind, choose it with the arrows, Tab, Enter
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        wait_for(driver, lambda d: d.switch_to.active_element.get_attribute("id") == "project-name", 5)
        options = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#project-kind option")]
        ActionChains(driver).send_keys(name, Keys.TAB, *[Keys.ARROW_DOWN] * options.index(kind), Keys.TAB,
                                       Keys.ENTER).perform()
    else:
        driver.find_element(By.ID, "project-name").send_keys(name)
        Select(driver.find_element(By.ID, "project-kind")).select_by_value(kind)
        driver.find_element(By.CSS_SELECTOR, "#new-project button").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "project-title").text == name, what="the project opens")


def add_class(driver, name: str) -> None:
    driver.find_element(By.ID, "class-name").send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "#new-class button").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'section.class[data-class="{name}"]'))


def upload_to_class(driver, name: str, files: list[Path]) -> None:
    field = driver.find_element(By.CSS_SELECTOR, f'section.class[data-class="{name}"] input[type=file][multiple]')
    field.send_keys("\n".join(str(f) for f in files))


def class_heading(driver, name: str) -> str:
    found = texts_of(driver, f'section.class[data-class="{name}"] h4')
    return found[0] if found else ""


def train(driver, epochs: int) -> None:
    box = driver.find_element(By.ID, "epochs")
    box.clear()
    box.send_keys(str(epochs))
    driver.find_element(By.ID, "train-go").click()


def finished_run(driver, timeout: float = 180) -> None:
    wait_for(driver, lambda d: run_status(d) in ("finished", "failed"), timeout, "the run finishes")
    assert run_status(driver) == "finished", message(driver)
    wait_for(driver, lambda d: d.find_element(By.ID, "result").is_displayed(), 30, "the result shows")


def download_model(driver, folder: Path) -> Path:
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    wait_for(driver, lambda d: d.find_element(By.ID, "download").get_attribute("href").startswith("blob:"))
    driver.find_element(By.ID, "download").click()
    wait_for(driver, lambda d: [p for p in folder.glob("*.deepfit")], 30, "the model downloads")
    time.sleep(0.5)  # the file is complete once Chromium has renamed it from .crdownload
    return next(folder.glob("*.deepfit"))


def check_page_at_both_widths(driver, name: str) -> None:
    assert driver.execute_script(UNLABELLED_CONTROLS) == []
    save_screenshot(driver, f"{name}-1366")
    driver.set_window_size(390, 844)
    try:
        time.sleep(0.3)
        assert page_problems(driver) == []
        driver.save_screenshot(str(Path(save_screenshot.__globals__["SCREENSHOTS"]) / f"{name}-390.png"))
    finally:
        driver.set_window_size(1366, 768)
    assert console_errors(driver) == []


def test_pictures_from_project_to_downloaded_model(browser, tmp_path):
    pictures = write_digit_pictures(tmp_path / "digits", digits=(0, 1), per_class=20, size=16)
    with LiveServer(create_studio(tmp_path / "studio")) as server:
        make_project(browser, server.url, "digits", "pictures")
        add_class(browser, "zero")
        upload_to_class(browser, "zero", sorted((pictures / "0").glob("*.png")))
        wait_for(browser, lambda d: class_heading(d, "zero").startswith("zero: 20 examples"))
        add_class(browser, "one")  # a whole folder, whose other files are left out
        (pictures / "1" / "notes.txt").write_text("where these came from")
        browser.find_element(By.CSS_SELECTOR, 'section.class[data-class="one"] input[webkitdirectory]').send_keys(
            str(pictures / "1"))
        wait_for(browser, lambda d: class_heading(d, "one").startswith("one: 20 examples"))
        assert len(browser.find_elements(By.CSS_SELECTOR, 'section.class[data-class="one"] .thumbs img')) == 12

        browser.find_element(By.ID, "check").click()
        wait_for(browser, lambda d: "40 examples" in d.find_element(By.ID, "findings").text)

        train(browser, 2000)   # long: it is cancelled once its curve has appeared
        wait_for(browser, lambda d: int(d.find_element(By.ID, "chart").get_attribute("data-epochs") or 0) >= 2,
                 120, "the curve appears")
        assert "left" in browser.find_element(By.ID, "progress-text").text
        seen = int(browser.find_element(By.ID, "chart").get_attribute("data-epochs"))
        browser.refresh()  # closing the page loses nothing: it comes back to the project and the run's curve
        wait_for(browser, lambda d: int(d.find_element(By.ID, "chart").get_attribute("data-epochs") or 0) > seen,
                 60, "the reloaded page follows the run")
        browser.find_element(By.ID, "cancel").click()
        wait_for(browser, lambda d: run_status(d) == "cancelled", 60, "the run is cancelled")
        wait_for(browser, lambda d: 'cancelled' in (d.find_element(By.CSS_SELECTOR, 'tr[data-run="run-001"]')
                                                    .get_attribute("data-status")), 30)

        train(browser, 60)
        finished_run(browser)
        assert "accuracy" in browser.find_element(By.ID, "progress-text").text
        report = browser.find_element(By.ID, "report").get_attribute("srcdoc")
        assert "Confusion" in report or "confusion" in report

        browser.switch_to.frame(browser.find_element(By.ID, "try"))
        try:
            wait_for(browser, lambda d: d.find_element(By.ID, "file-input").is_displayed(), 60, "the try page loads")
            probe = pictures / "1" / "1_19.png"
            browser.find_element(By.ID, "files").send_keys(str(probe))
            wait_for(browser, lambda d: texts_of(d, ".answer .label"), 60, "an answer")
            answered = texts_of(browser, ".answer .label")[0]
        finally:
            browser.switch_to.default_content()

        model = deepfit.load(download_model(browser, tmp_path / "downloads"))
        from PIL import Image

        picture = np.asarray(Image.open(probe))[None]
        assert str(model.predict(picture)[0]) == answered
        check_page_at_both_widths(browser, "studio-pictures")


def test_a_table_from_csv_to_downloaded_model(browser, tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    frame["species"] = frame["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.to_csv(tmp_path / "iris.csv", index=False)
    with LiveServer(create_studio(tmp_path / "studio")) as server:
        make_project(browser, server.url, "flowers", "table", by_keyboard=True)
        browser.find_element(By.ID, "table-file").send_keys(str(tmp_path / "iris.csv"))
        wait_for(browser, lambda d: "150 rows" in d.find_element(By.ID, "table-preview").text)
        Select(browser.find_element(By.ID, "target")).select_by_value("species")
        wait_for(browser, lambda d: "setosa 50" in d.find_element(By.ID, "table-preview").text)

        train(browser, 40)
        finished_run(browser)
        browser.switch_to.frame(browser.find_element(By.ID, "try"))
        row = frame.iloc[120]
        try:
            wait_for(browser, lambda d: d.find_element(By.ID, "table-form").is_displayed(), 60, "the try page loads")
            for index, column in enumerate(frame.columns[:4]):
                browser.find_element(By.ID, f"field-{index}").send_keys(str(row[column]))
            browser.find_element(By.ID, "predict-row").click()
            wait_for(browser, lambda d: texts_of(d, ".answer .label"), 60, "an answer")
            answered = texts_of(browser, ".answer .label")[0]
        finally:
            browser.switch_to.default_content()
        model = deepfit.load(download_model(browser, tmp_path / "downloads"))
        assert model.predict(pd.DataFrame([row[frame.columns[:4]]]))[0] == answered
        check_page_at_both_widths(browser, "studio-table")


def test_bad_inputs_get_a_message_on_the_page(browser, tmp_path):
    pictures = write_digit_pictures(tmp_path / "digits", digits=(0,), per_class=3, size=16)
    (tmp_path / "notes.txt").write_text("not a picture")
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG" + bytes(20 * 1024 * 1024))
    with LiveServer(create_studio(tmp_path / "studio")) as server:
        make_project(browser, server.url, "bad", "pictures")
        add_class(browser, "empty")
        train(browser, 5)
        wait_for(browser, lambda d: "has no examples" in message(d), 30, "an empty class is refused")
        add_class(browser, "zero")
        upload_to_class(browser, "zero", sorted((pictures / "0").glob("*.png")))
        wait_for(browser, lambda d: class_heading(d, "zero").startswith("zero: 3 examples"))
        browser.find_element(By.CSS_SELECTOR, 'section.class[data-class="empty"] button[type=button]:last-child').click()
        wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, 'section.class[data-class="empty"]'))
        train(browser, 5)
        wait_for(browser, lambda d: "at least two" in message(d), 30, "one class is refused")
        upload_to_class(browser, "zero", [tmp_path / "notes.txt"])
        wait_for(browser, lambda d: "notes.txt" in message(d) and "takes pictures" in message(d), 30)
        upload_to_class(browser, "zero", [big])
        wait_for(browser, lambda d: "larger than" in message(d), 30, "a 20 MB upload is refused")
        assert class_heading(browser, "zero").startswith("zero: 3 examples")
        assert "error" in browser.find_element(By.ID, "message").get_attribute("class")

        browser.find_element(By.CSS_SELECTOR, 'section.class[data-class="zero"] .row button').click()  # Draw one
        pad = browser.find_element(By.CSS_SELECTOR, 'section.class[data-class="zero"] canvas.pad')
        ActionChains(browser).move_to_element_with_offset(pad, -30, -40).click_and_hold().move_by_offset(0, 80) \
            .release().perform()
        browser.find_element(By.XPATH, "//button[text()='Add drawing to zero']").click()
        wait_for(browser, lambda d: class_heading(d, "zero").startswith("zero: 4 examples"), 30, "the drawing is added")
        # the browser logs each refused request itself; nothing else went wrong on the page
        assert {e.split("status of ")[-1][:3] for e in console_errors(browser)} <= {"413", "415", "422"}


def test_a_sound_class_records_from_the_microphone(browser, tmp_path):
    with LiveServer(create_studio(tmp_path / "studio")) as server:
        make_project(browser, server.url, "beeps", "sound")
        add_class(browser, "beep")
        browser.find_element(By.XPATH, "//button[text()='Record 3 seconds']").click()
        wait_for(browser, lambda d: class_heading(d, "beep").startswith("beep: 1 example"), 30, "the recording is kept")
        [kept] = (tmp_path / "studio" / "beeps" / "examples" / "beep").glob("*.wav")
        import soundfile

        assert soundfile.info(str(kept)).duration == pytest.approx(3, abs=0.3)
        assert console_errors(browser) == []


def test_a_picture_class_takes_photos_from_the_camera(browser, tmp_path):
    with LiveServer(create_studio(tmp_path / "studio")) as server:
        make_project(browser, server.url, "faces", "pictures")
        add_class(browser, "me")
        browser.find_element(By.XPATH, "//button[text()='Use the camera']").click()
        wait_for(browser, lambda d: d.execute_script("const v = document.querySelector('video.camera');"
                                                      "return v && v.videoWidth > 0"), 30, "the camera starts")
        for taken in (1, 2):  # the camera stays open while pictures are added
            browser.find_element(By.XPATH, "//button[text()='Take a picture for me']").click()
            wait_for(browser, lambda d, n=taken: class_heading(d, "me").startswith(f"me: {n} example"), 30)
        pictures = sorted((tmp_path / "studio" / "faces" / "examples" / "me").glob("*.png"))
        assert len(pictures) == 2 and all(Image.open(p).size[0] >= 160 for p in pictures)
        browser.find_element(By.XPATH, "//button[text()='Stop the camera']").click()
        assert not browser.find_elements(By.CSS_SELECTOR, "video.camera")
        assert console_errors(browser) == []

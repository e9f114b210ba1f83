"""The report and the web UI in a real headless Chromium (Debian's chromium + chromedriver, via Selenium).

`make venv-test` installs the browser with apt-get. Only where apt-get itself is missing do
these tests skip; a machine that could install Chromium but has not fails them.
Set TRAINLOCK_SCREENSHOTS=DIR to keep the screenshots for a person to look at.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, FAST_CONFIG
from trainlock.cli import main

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
#: the machine has no network: without the background-networking flags Chromium keeps trying
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


def _trainlock(*args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A small store: two replicates (seeds 1 and 2) and one run of another config."""
    folder = tmp_path_factory.mktemp("store")
    shutil.copy(EXAMPLE / "data.csv", folder / "data.csv")
    (folder / "config.yaml").write_text(yaml.safe_dump(FAST_CONFIG, sort_keys=False))
    common = ("train", folder / "config.yaml", "--profile", "tiny", "--store", folder / "runs", "--json", "--quiet")
    runs = {
        "seed1": _trainlock(*common, "--seed", "1")["run_id"],
        "seed2": _trainlock(*common, "--seed", "2")["run_id"],
        "other": _trainlock(*common, "--seed", "1", "--set", "models.decision_tree.max_depth=3")["run_id"],
    }
    return {"dir": folder, "runs_dir": folder / "runs", **runs}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if shutil.which("apt-get") is None:
            pytest.skip("Chromium is not installed and this machine has no apt-get to install it")
        pytest.fail("Chromium is missing: `make venv-test` installs chromium and chromium-driver with apt-get")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(180)  # a report page verifies the run first: slow on a busy machine
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    """The browser console's errors since the last call (reading the log empties it)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def rendered_charts(driver) -> dict[str, tuple[float, float, int]]:
    """Each chart on the page: (width, height, number of drawn shapes) of its SVG."""
    return driver.execute_script("""
        const found = {};
        for (const svg of document.querySelectorAll('figure.chart > svg, .graph > svg')) {
            const name = svg.closest('figure') ? svg.closest('figure').dataset.chart : 'lineage-graph';
            const box = svg.getBoundingClientRect();
            found[name] = [box.width, box.height, svg.querySelectorAll('path, rect, text, use').length];
        }
        return found;""")


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    """A full-page PNG; kept in $TRAINLOCK_SCREENSHOTS when set."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height), 600), 12000))
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    assert path.stat().st_size > 20_000  # a blank page compresses to a few hundred bytes
    if os.environ.get("TRAINLOCK_SCREENSHOTS"):
        shutil.copy(path, Path(os.environ["TRAINLOCK_SCREENSHOTS"]) / path.name)
    return path


def click_and_wait(driver, element, title: str) -> None:
    """Click, then wait for the page that click loads (a busy machine renders reports slowly)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element("tag name", "html")
    element.click()
    wait = WebDriverWait(driver, 120)
    wait.until(expected_conditions.staleness_of(page))  # the old page is gone
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert driver.title.startswith(title), driver.find_element("tag name", "main").text[:500]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_report_file_renders_every_chart_offline(store, browser, tmp_path):
    out = tmp_path / "report.html"
    _trainlock("report", store["seed1"], "--store", store["runs_dir"], "--out", out, "--json")
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", text)  # nothing to fetch
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    try:
        browser.get(out.as_uri())
        charts = rendered_charts(browser)
        fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        shot = screenshot(browser, "report", tmp_path)
    finally:
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
    assert sorted(charts) == ["calibration", "cv-folds", "lineage-graph", "precision-recall"]
    for name, (width, height, shapes) in charts.items():
        assert width > 200 and height > 100 and shapes > 10, (name, width, height, shapes)
    assert fetched == []
    assert console_errors(browser) == []
    assert browser.title == f"trainlock run {store['seed1']}"
    assert shot.is_file()


def test_ui_lists_filters_opens_reports_and_compares(store, browser, tmp_path):
    from trainlock.ops.diff import diff
    from trainlock.store import open_store

    expected = diff(store["seed1"], store["seed2"], store=open_store(store["runs_dir"])).first_divergence
    assert expected is not None  # different seeds part somewhere: the page must name where
    before = snapshot(store["runs_dir"])
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "trainlock"),
            "ui",
            "--store",
            str(store["runs_dir"]),
            "--port",
            "0",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:(\d+)/)", line)
        assert match, line + server.stderr.read()
        url, port = match.group(1), int(match.group(2))

        browser.get(url)
        rows = browser.find_elements("css selector", "tr.run")
        assert sorted(r.get_attribute("data-run") for r in rows) == sorted(
            [store["seed1"], store["seed2"], store["other"]]
        )
        screenshot(browser, "ui-runs", tmp_path)

        browser.find_element("name", "seed").send_keys("2")
        click_and_wait(browser, browser.find_element("css selector", "#filters button"), "trainlock runs")
        rows = browser.find_elements("css selector", "tr.run")
        assert [r.get_attribute("data-run") for r in rows] == [store["seed2"]]
        assert "showing 1 of 3 runs" in browser.find_element("id", "count").text

        click_and_wait(
            browser,
            browser.find_element("css selector", f"tr[data-run='{store['seed2']}'] a.run-link"),
            f"trainlock run {store['seed2']}",
        )
        charts = rendered_charts(browser)
        assert sorted(charts) == ["calibration", "cv-folds", "lineage-graph", "precision-recall"]
        assert all(w > 200 and h > 100 and shapes > 10 for w, h, shapes in charts.values()), charts
        assert "verified" in browser.find_element("css selector", ".badges").text

        browser.get(url + "?group=replicate")
        assert len(browser.find_elements("css selector", "table.group")) == 2
        browser.get(url)
        for run_id in (store["seed1"], store["seed2"]):
            browser.find_element("css selector", f"input[name=run][value='{run_id}']").click()
        click_and_wait(
            browser, browser.find_element("xpath", "//button[text()='compare selected']"), "trainlock compare 2 runs"
        )
        assert browser.find_element("css selector", ".first-divergence").text == expected.step
        assert "metric-distribution" in rendered_charts(browser)
        screenshot(browser, "ui-compare", tmp_path)
        assert console_errors(browser) == []

        for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/runs/..%2f..%2fetc%2fpasswd"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            assert connection.getresponse().status == 400, path
            connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0
    assert snapshot(store["runs_dir"]) == before  # nothing written to the store

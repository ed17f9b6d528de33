"""The tutorial site: built as `make docs` builds it (MkDocs, --strict), every script of docs/code/
run on the way, what each printed being what a reader is told, and every page read in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from browser import LAPTOP, console_errors, page_problems

REPO = Path(__file__).resolve().parents[1]
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]  # not --quiet: it hides the warnings --strict counts
ENVIRONMENT = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

pytestmark = pytest.mark.slow  # the build runs every script of the tutorial (about 90 s)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run([*MKDOCS, "--site-dir", str(out)], cwd=REPO, capture_output=True, text=True,
                           timeout=900, env=ENVIRONMENT)
    assert built.returncode == 0, built.stderr[-3000:]
    return out


def output(name: str) -> str:
    return (REPO / "docs" / "outputs" / f"{name}.txt").read_text()


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return float(found.group(1))


def test_every_script_of_the_tutorial_prints_what_its_page_says(site):
    assert "predictions [1, 1, 0, 0] for labels [1, 1, 0, 0]" in output("neuron")
    assert "weights [0, 0]: 2.7726" in output("logistic")   # 4 x log 2, as the page explains
    hidden = output("hidden_layers")
    assert number(r"two hidden layers ([\d.]+)", hidden) >= 0.95 > number(r"perceptron ([\d.]+)", hidden)
    assert "residual True" in output("going_deep") and number(r"accuracy ([\d.]+)", output("going_deep")) >= 0.9
    assert "network: cnn" in output("pictures") and number(r"accuracy ([\d.]+)", output("pictures")) >= 0.95
    assert number(r"accuracy ([\d.]+)", output("sound")) >= 0.8
    transfer = output("transfer")
    assert number(r"transferred ([\d.]+)", transfer) >= max(0.95, number(r"scratch ([\d.]+)", transfer) - 0.01)
    assert number(r"learned features: ([\d.]+)", output("features")) >= 0.9
    assert "Best overall" in output("deep_vs_shallow")
    checked = dict(line.split(": ") for line in output("checking").split("\n") if ": " in line)
    assert int(checked["exact_duplicates"]) >= 1 and int(checked["test_examples_in_training"]) == 5
    assert int(checked["suspected_mislabels"]) >= 3
    assert number(r"(\d+) found", output("detection")) >= 1
    assert number(r"at most ([\d.e+-]+)", output("serving")) <= 1e-5
    assert "2 processes" in output("more_machines")


def test_every_page_reads_well_on_a_laptop_and_a_phone(site, browser):
    pages = sorted(site.glob("*.html"))
    assert len([p for p in pages if p.name != "404.html"]) == 19   # 14 steps, home, 4 of reference
    for page in pages:
        if page.name == "404.html":
            continue
        browser.get_log("browser")
        browser.get(page.as_uri())
        for width in (LAPTOP[0], 390):
            browser.set_window_size(width, LAPTOP[1])
            assert page_problems(browser) == [], page.name
        browser.set_window_size(*LAPTOP)
        assert console_errors(browser) == [], page.name
        blocks = browser.find_elements("css selector", "pre code")
        assert all(block.get_attribute("textContent").strip() for block in blocks), page.name
        for link in browser.find_elements("css selector", "article a[href$='.html']"):
            target = (page.parent / link.get_attribute("href").split("/")[-1].split("#")[0])
            assert target.exists(), (page.name, link.get_attribute("href"))


def test_a_broken_link_or_a_missing_snippet_fails_the_build(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\nSee [the next page](nowhere.md).\n")
    (tmp_path / "mkdocs.yml").write_text(textwrap.dedent(f"""\
        INHERIT: {REPO / 'mkdocs.yml'}
        docs_dir: docs
        hooks: []
        nav:
          - Home: index.md
        """))
    built = subprocess.run([*MKDOCS, "--site-dir", str(tmp_path / "site")], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, env=ENVIRONMENT)
    assert built.returncode != 0 and "nowhere.md" in built.stderr
    (tmp_path / "docs" / "index.md").write_text('# Home\n\n```\n--8<-- "docs/code/missing.py"\n```\n')
    built = subprocess.run([*MKDOCS, "--site-dir", str(tmp_path / "site")], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, env=ENVIRONMENT)
    assert built.returncode != 0 and "missing.py" in built.stderr

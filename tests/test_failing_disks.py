"""Disks that fail: a full disk (simulated with a file-size limit, which fails writes as a full disk
does) or a folder that cannot be written gives one clear line, and leaves an earlier model untouched."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest
from conftest import run_cli

TRAIN = ("--max-epochs", "3", "--seed", "0", "--quiet")


def _limited_writes(limit_bytes: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


@pytest.mark.slow
def test_a_full_disk_keeps_the_earlier_model_and_says_so(digits_csv, tmp_path):
    out = tmp_path / "run"
    first = run_cli("train", digits_csv, "--out", out, *TRAIN)
    assert first.returncode == 0, first.stderr
    before = (out / "model.deepfit").read_bytes()
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    result = subprocess.run([sys.executable, "-m", "deepfit", "train", str(digits_csv), "--out", str(out), *TRAIN,
                             "--overwrite", "--seed", "1"], capture_output=True, text=True, timeout=300, env=env,
                            preexec_fn=_limited_writes(200_000))
    assert result.returncode == 2, result.stderr
    assert "writing failed" in result.stderr and str(out) in result.stderr and "Traceback" not in result.stderr
    assert (out / "model.deepfit").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("where", ["/proc/deepfit-out", "{file}/out"])
def test_a_folder_that_cannot_be_written_is_one_clear_line(digits_csv, tmp_path, where):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = where.format(file=blocker)
    result = run_cli("train", digits_csv, "--out", out, *TRAIN)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert out in result.stderr and ("cannot write here" in result.stderr or "writing failed" in result.stderr)
    predicted = run_cli("predict", tmp_path / "none.deepfit", digits_csv, "-o", f"{out}/p.csv")
    assert predicted.returncode == 2

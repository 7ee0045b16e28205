"""Under CI=true (set by .ci/run) a test whose data is missing fails instead of skipping, so a CI
run without its data folder cannot go green by skipping every check on real data
(conftest.missing_data)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

NEEDS_DATA = f'''
import sys
sys.path.insert(0, {str(TESTS)!r})
from conftest import real_data  # noqa: E402,F401  (the fixture: skips, or fails under CI, without data)


def test_reads_the_data_folder(real_data):
    assert real_data.is_dir()
'''


def _pytest(test_file: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                          cwd=test_file.parent, env={**base, **env}, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("ci, code, outcome", [("true", 1, "1 error"),  # failed in its fixture: red
                                               (None, 0, "1 skipped")])
def test_a_test_without_its_data_fails_under_ci_and_skips_otherwise(tmp_path, ci, code, outcome):
    test_file = tmp_path / "test_needs_data.py"
    test_file.write_text(NEEDS_DATA)
    env = {"ZCBENCH_DATA": str(tmp_path / "no_such_folder")}
    if ci is not None:
        env["CI"] = ci
    done = _pytest(test_file, **env)
    assert done.returncode == code, done.stdout + done.stderr
    assert outcome in done.stdout
    if ci == "true":
        assert "real data folder not found" in done.stdout and "CI=true" in done.stdout


def test_no_test_skips_on_missing_data_by_itself():
    """Every missing-data skip goes through conftest.missing_data, so the CI rule covers it."""
    skip = re.compile(r"pytest\.skip\((.*)")
    found = [f"{path.name}:{i}" for path in sorted(TESTS.glob("*.py")) if path.name != "conftest.py"
             for i, line in enumerate(path.read_text().splitlines(), 1)
             if (m := skip.search(line)) and re.search(r"ZCBENCH_DATA|data folder|not found", m.group(1))]
    assert not found, f"use conftest.missing_data(reason) instead of pytest.skip in {found}"

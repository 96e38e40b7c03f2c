"""The rules in tests/conftest.py that keep CI honest, checked by running pytest on small test files.

Each case copies our conftest.py next to a tiny test file in tmp_path and runs pytest on it in
a subprocess, with only the environment variables the case names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Variables that would change the outcome; each case sets the ones it is about.
GUARD_VARIABLES = (
    "SMARTSESSION_FORBID_SKIPS",
    "SMARTSESSION_REQUIRE_SHARED_DATA",
    "SMARTSESSION_TESTDATA",
    "REDIS_URL",
    "SMARTSESSION_REQUIRE_BROWSER",
    "SMARTSESSION_CHROMIUM",
)


def run_pytest(tmp_path: Path, test_source: str, *options: str, **env: str) -> subprocess.CompletedProcess:
    for helper in ("conftest.py", "browser_fixtures.py"):
        shutil.copyfile(REPO_ROOT / "tests" / helper, tmp_path / helper)
    (tmp_path / "test_case.py").write_text(test_source)
    run_env = {name: value for name, value in os.environ.items() if name not in GUARD_VARIABLES}
    run_env.update(env, PYTHONPATH=str(REPO_ROOT), DJANGO_SETTINGS_MODULE="smartsession.settings")
    # Plain asserts and no API-fuzzing plugins: these runs test the skip guards, and pytest otherwise spends most of
    # its start rewriting the asserts of every plugin module (about 3 s a run where bytecode is not cached).
    quick = ["--assert=plain", "-p", "no:schemathesis", "-p", "no:hypothesispytest"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function",
         *quick, "-ra", *options, str(tmp_path)],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


ONE_PASS_ONE_SKIP = """
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("nothing to test against here")
"""


def test_it_allows_skips_by_default(tmp_path):
    result = run_pytest(tmp_path, ONE_PASS_ONE_SKIP)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_it_fails_the_run_and_names_the_skipped_tests_when_skips_are_forbidden(tmp_path):
    result = run_pytest(tmp_path, ONE_PASS_ONE_SKIP, SMARTSESSION_FORBID_SKIPS="1")
    assert result.returncode == 1, result.stdout
    assert "SMARTSESSION_FORBID_SKIPS=1: skipped tests fail this run" in result.stdout
    assert "SKIPPED test_case.py::test_skips: Skipped: nothing to test against here" in result.stdout


def test_it_fails_the_run_on_workers_too(tmp_path):
    # make test runs the suite on two pytest-xdist workers; their skips reach the guard in the main process.
    (tmp_path / "test_other.py").write_text(ONE_PASS_ONE_SKIP)
    result = run_pytest(tmp_path, ONE_PASS_ONE_SKIP, "-n", "2", SMARTSESSION_FORBID_SKIPS="1")
    assert result.returncode == 1, result.stdout
    assert "2 passed, 2 skipped" in result.stdout
    assert "SKIPPED test_case.py::test_skips: Skipped: nothing to test against here" in result.stdout
    assert "SKIPPED test_other.py::test_skips: Skipped: nothing to test against here" in result.stdout


def test_it_counts_a_module_skipped_at_import_when_skips_are_forbidden(tmp_path):
    source = 'import pytest\npytest.importorskip("no_such_module_anywhere")\n\ndef test_never_runs():\n    pass\n'
    result = run_pytest(tmp_path, source, SMARTSESSION_FORBID_SKIPS="1")
    # Non-zero either way; here pytest's own 5 (no tests ran) comes first.
    assert result.returncode != 0, result.stdout
    assert "SKIPPED test_case.py: Skipped: could not import" in result.stdout


def test_it_does_not_count_an_expected_failure_as_a_skip(tmp_path):
    source = 'import pytest\n\n@pytest.mark.xfail(strict=True)\ndef test_known_bug():\n    assert False\n'
    result = run_pytest(tmp_path, source, SMARTSESSION_FORBID_SKIPS="1")
    assert result.returncode == 0, result.stdout


USES_SHARED_DATA = """
def test_reads_data(shared_testdata):
    assert shared_testdata.is_dir()
"""


def test_it_skips_when_shared_data_is_missing(tmp_path):
    result = run_pytest(tmp_path, USES_SHARED_DATA, SMARTSESSION_TESTDATA=str(tmp_path / "absent"))
    assert result.returncode == 0, result.stdout
    assert f"shared test data not found at {tmp_path / 'absent'}" in result.stdout
    assert "1 skipped" in result.stdout


def test_it_fails_when_shared_data_is_required_but_missing(tmp_path):
    result = run_pytest(
        tmp_path, USES_SHARED_DATA, SMARTSESSION_TESTDATA=str(tmp_path / "absent"), SMARTSESSION_REQUIRE_SHARED_DATA="1"
    )
    assert result.returncode == 1, result.stdout
    assert "SMARTSESSION_REQUIRE_SHARED_DATA=1" in result.stdout


def test_it_uses_the_shared_data_folder_it_is_given(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    result = run_pytest(tmp_path, USES_SHARED_DATA, SMARTSESSION_TESTDATA=str(data), SMARTSESSION_FORBID_SKIPS="1")
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout


MARKED_FOR_REDIS = """
import pytest

@pytest.mark.redis
def test_needs_redis():
    pass
"""


def test_it_skips_a_redis_test_when_redis_url_is_unset(tmp_path):
    result = run_pytest(tmp_path, MARKED_FOR_REDIS)
    assert result.returncode == 0, result.stdout
    assert "REDIS_URL is not set" in result.stdout


def test_it_fails_a_redis_test_when_redis_does_not_answer(tmp_path):
    # Nothing listens on port 1: a configured but dead Redis is a broken set-up, not a reason to skip.
    result = run_pytest(tmp_path, MARKED_FOR_REDIS, REDIS_URL="redis://:secret@127.0.0.1:1/0")
    assert result.returncode == 1, result.stdout
    assert "REDIS_URL is set to redis://127.0.0.1:1/0 but Redis does not answer" in result.stdout
    assert "secret" not in result.stdout


MARKED_FOR_BROWSER = """
import pytest

@pytest.mark.browser
def test_needs_a_browser():
    pass
"""


def test_it_skips_a_browser_test_without_chromium_and_says_why(tmp_path):
    result = run_pytest(tmp_path, MARKED_FOR_BROWSER, SMARTSESSION_CHROMIUM=str(tmp_path / "no-chromium"))
    assert result.returncode == 0, result.stdout
    assert "browser tests need Chromium" in result.stdout and "1 skipped" in result.stdout


def test_it_fails_a_browser_test_without_chromium_when_ci_requires_it(tmp_path):
    missing = str(tmp_path / "no-chromium")
    result = run_pytest(tmp_path, MARKED_FOR_BROWSER, SMARTSESSION_CHROMIUM=missing, SMARTSESSION_REQUIRE_BROWSER="1")
    assert result.returncode == 1, result.stdout
    assert "SMARTSESSION_REQUIRE_BROWSER=1" in result.stdout

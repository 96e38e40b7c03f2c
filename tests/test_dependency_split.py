"""The runtime lock is enough to run the server: nothing it imports comes from the dev lock."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

from packaging.utils import canonicalize_name

from smartsession.envcheck import DEV_REQUIREMENTS, REPO_ROOT, REQUIREMENTS, pinned_requirements

# With every module of the dev lock's packages made unimportable, the server's code loads and checks clean.
SERVER_WITHOUT_DEV_PACKAGES = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(","))

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ImportError(f"{name} belongs to the dev lock")
        return None

sys.meta_path.insert(0, Blocker())
import django
django.setup()
from django.core.management import call_command
import smartsession.asgi, classroom.consumers, classroom.live, sessions_app.views, vision.face, vision.cli
call_command("check")
print("server loads without", len(blocked), "dev modules")
"""


def dev_only_modules() -> set[str]:
    dev = set(pinned_requirements(DEV_REQUIREMENTS))
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if all(canonicalize_name(name) in dev for name in distributions)
    }


def test_it_keeps_test_tools_out_of_the_runtime_lock():
    runtime, dev = pinned_requirements(REQUIREMENTS), pinned_requirements(DEV_REQUIREMENTS)
    assert not set(runtime) & set(dev), "a package is pinned in both locks"
    assert {"pytest", "playwright", "pytest-django"} <= set(dev)
    assert {"django", "daphne", "mediapipe", "servestatic", "django-axes"} <= set(runtime)


def test_it_runs_the_server_code_without_the_dev_packages():
    blocked = dev_only_modules()
    assert {"pytest", "playwright"} <= blocked
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "smartsession.settings"}
    result = subprocess.run([sys.executable, "-c", SERVER_WITHOUT_DEV_PACKAGES, ",".join(sorted(blocked))],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "server loads without" in result.stdout

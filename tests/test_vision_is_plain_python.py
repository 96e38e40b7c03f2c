"""vision/ knows nothing about Django: it can run in a worker, a CLI or another project."""

import ast
import subprocess
import sys
from pathlib import Path

VISION = Path(__file__).resolve().parent.parent / "vision"


def test_it_imports_no_django_in_any_module():
    for path in VISION.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] in {"django", "channels", "rest_framework"} for name in names), path


def test_it_loads_without_django_in_the_process():
    code = ("import sys, vision.cli, vision.face, vision.tracker, vision.evaluate, vision.bench; "
            "assert 'django' not in sys.modules, 'django was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=VISION.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]

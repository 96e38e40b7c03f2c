"""The README's capacity lines are quoted from docs/performance.md, which `make bench` writes, never typed."""

from pathlib import Path

from bench.document import README_BEGIN, README_END, SIZING_BEGIN, SIZING_END, read_data, readme_block, sizing_block

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = REPO_ROOT / "docs" / "performance.md"


def test_it_quotes_the_readme_capacity_from_docs_performance():
    data = read_data(DOCUMENT.read_text()) if DOCUMENT.exists() else None
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"{README_BEGIN}\n{readme_block(data)}\n{README_END}" in readme, (
        "the README's capacity lines differ from docs/performance.md: run `make bench`, or put back what it wrote"
    )


def test_it_sizes_the_deployment_guide_from_docs_performance():
    data = read_data(DOCUMENT.read_text()) if DOCUMENT.exists() else None
    guide = (REPO_ROOT / "docs" / "deployment.md").read_text()
    assert f"{SIZING_BEGIN}\n{sizing_block(data)}\n{SIZING_END}" in guide, (
        "docs/deployment.md's sizing differs from docs/performance.md: run `make bench`, or put back what it wrote"
    )


def test_it_publishes_only_a_full_run():
    if DOCUMENT.exists():
        assert read_data(DOCUMENT.read_text())["sizes"]["name"] == "full", "a smoke run's numbers mean nothing"

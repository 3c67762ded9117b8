"""Packaging as users meet it on a package index: license, metadata, sdist contents, CI commands."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import tarfile

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert project["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # SPDX replaces license classifiers


def test_metadata_a_package_index_shows():
    project = PYPROJECT["project"]
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(project["urls"])
    assert "Typing :: Typed" in project["classifiers"]
    assert project["dependencies"] == ["torch>=2.13"]  # the floor is the torch release CI tests


def test_readme_links_are_absolute():
    # A README rendered on a package index has no repository beside it: relative links break there.
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert links
    assert all(re.match(r"https?://", link) for link in links), [lk for lk in links if not lk.startswith("http")]


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    for name in ("test", "lint"):
        assert f"<!-- ci:{name} -->" in readme
    lint = readme.split("<!-- ci:lint -->")[1].split("<!-- /ci:lint -->")[0]
    assert "ruff check" in lint and "ruff format --check" in lint and "mypy optimtx" in lint
    # A bare torch requirement on a fresh machine pulls a multi-GB CUDA build: every block pins the CPU file first.
    for block in re.findall(r"<!-- ci:\w+ -->\n```bash\n(.*?)```", readme, re.S):
        assert block.startswith("pip install torch==2.13.0 && "), block


@pytest.mark.slow
def test_sdist_ships_what_the_tests_read(tmp_path):
    build = pytest.importorskip("build")
    del build
    out = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.skip(f"sdist build unavailable here: {out.stderr[-300:]}")
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {
            pathlib.PurePosixPath(n).relative_to(pathlib.PurePosixPath(n).parts[0]).as_posix() for n in tar.getnames()
        }
    for path in ROOT.glob("tests/**/*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert path.relative_to(ROOT).as_posix() in names
    for folder in ("docs", "examples"):
        for path in (ROOT / folder).glob("**/*"):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".png"):
                assert path.relative_to(ROOT).as_posix() in names, path
    assert {"LICENSE", "README.md", "pyproject.toml", "optimtx/py.typed"} <= names
    # tests/test_docs_site.py reads mkdocs.yml; the docs check and the CI runner travel with the tests.
    assert {"mkdocs.yml", ".ci/run", ".ci/docs", ".ci/check_site.py"} <= names


def test_maintainer_scripts_are_never_collected_and_optimtx_warnings_are_errors():
    # A fresh environment has no jax: collecting tests/reference_data/make_*.py would be a collection error.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # .ci/run's sdist leg sets it
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/reference_data"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert out.returncode == 5 and "no tests collected" in out.stdout, out.stdout + out.stderr  # 5: nothing found
    assert list((ROOT / "tests" / "reference_data").glob("make_*.py"))  # the scripts exist, they are skipped
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "error::optimtx.warnings.OptimtxWarning" in options["filterwarnings"]
    import warnings

    import optimtx

    with pytest.raises(optimtx.OptimtxWarning):  # what that filter means inside this very suite
        warnings.warn("x", optimtx.UnmatchedCustomKeyWarning, stacklevel=1)

"""`pip install ./python` as the README says: into a venv that uses Debian's python3-zmq and
python3-msgpack (--system-site-packages), offline (--no-build-isolation --no-index: setuptools
from the venv, wheel from Debian's python3-wheel). The installed package is complete (schema.json included) and runs the example
node's config check from outside the source tree."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bus import PYTHON_DIR, REPO

import tradebus


def run(*argv, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={"PATH": "/usr/bin:/bin"})


def test_pip_install_into_a_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    r = run(sys.executable, "-m", "venv", "--system-site-packages", venv)
    assert r.returncode == 0, r.stderr
    src = tmp_path / "src"  # a copy: the build leaves build/ and *.egg-info behind
    shutil.copytree(PYTHON_DIR, src, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    r = run(venv / "bin" / "pip", "install", "--no-build-isolation", "--no-index", "-q", src)
    assert r.returncode == 0, r.stdout + r.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run(venv / "bin" / "python", "-c",
            "import tradebus, tradebus.schema as s; print(tradebus.__file__); "
            "print(tradebus.__version__, len(s.EVENTS), s.Tick.TYPE)", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    where, what = r.stdout.splitlines()
    assert where.startswith(str(venv)), where  # the installed copy, not the source tree
    shipped = json.loads((PYTHON_DIR / "tradebus" / "schema.json").read_text())
    assert what == f"{tradebus.__version__} {len(shipped['events'])} tick"

    cfg = REPO / "examples" / "python" / "meanrev" / "meanrev.toml"
    r = run(venv / "bin" / "python", REPO / "examples" / "python" / "meanrev" / "meanrev.py",
            "--config", cfg, "--check-config", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{cfg} is valid"

"""The package's floors import only downward (``[importlinter]`` contracts
in setup.cfg, checked with import-linter)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def test_import_contracts_are_kept():
    if not LINT.exists():
        pytest.fail(f"{LINT} not found: install the dev extras (bash tools/install.sh --dev).")
    proc = subprocess.run([str(LINT), "--no-cache"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout

"""The ledger package stands alone: an auditor needs neither the service nor its frameworks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CODE = """
import importlib, pkgutil, sys
import ledger
names = [m.name for m in pkgutil.iter_modules(ledger.__path__, "ledger.")]
for name in names:
    importlib.import_module(name)
service = {"flask", "sqlalchemy", "registry", "werkzeug"}
print(len(names), sorted(m for m in sys.modules if m.split(".")[0] in service))
"""


def test_ledger_imports_no_service_modules() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2], check=True)
    count, leaked = done.stdout.split(" ", 1)
    assert int(count) >= 9 and leaked.strip() == "[]"

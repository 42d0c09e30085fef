"""The engine never imports Textual (or Rich): the console depends on it, never the reverse."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import tui.core
import tui.lua


def _engine_modules() -> list[str]:
    names = []
    for package in (tui.core, tui.lua):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", _engine_modules())
def test_importing_an_engine_module_loads_no_ui_library(module: str) -> None:
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"

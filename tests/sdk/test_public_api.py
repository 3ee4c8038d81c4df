"""The public surface is exactly what ``__all__`` says (after httpx's test)."""

from __future__ import annotations

import types

import carnet


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(carnet).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"__version__"} == set(carnet.__all__)


def test_every_exported_name_resolves() -> None:
    for name in carnet.__all__:
        assert getattr(carnet, name) is not None


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, carnet; heavy = [m for m in ('pandas', 'sqlalchemy', 'sklearn', 'altair', "
        "'streamlit', 'sqlmodel') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

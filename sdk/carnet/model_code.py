"""The code a model needs to load (MLflow's ``code_paths``).

A model whose pickle names functions or classes of the user's own modules cannot
be loaded where those modules are not importable. ``log_model(...,
code_paths=[...])`` copies the named files and folders into the model's
``code/`` folder, and the ``MLmodel`` records ``code: code`` in the
``python_function`` and flavour sections, as MLflow does; loading puts that
folder at the front of ``sys.path`` first, so Carnet's loaders and MLflow's
both find the modules.

The inputs are bounded and checked before anything is written: each path must
exist and be a file or a folder, names must differ, the tree holds at most
:data:`MAX_CODE_FILES` files and :data:`MAX_CODE_BYTES` bytes, and a symbolic
link is followed only to a file inside the path it was found in (a linked
folder is refused, so a link cannot pull in the home directory or loop).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from carnet.errors import CarnetError, ModelError

#: The model's folder the code is copied into, as MLflow names it.
CODE_FOLDER = "code"
MAX_CODE_PATHS = 100
MAX_CODE_FILES = 10_000
MAX_CODE_BYTES = 100 * 1024 * 1024
#: Not copied, as MLflow's copy leaves them out: caches of the interpreter that wrote them.
SKIPPED_NAMES = frozenset({"__pycache__"})


def check_code_paths(code_paths: Sequence[str | os.PathLike[str]] | None) -> tuple[Path, ...]:
    """The code paths as absolute paths, checked so that copying them cannot fail halfway
    or take more than a model should; a :class:`~carnet.errors.ModelError` says what to fix.
    """
    if code_paths is None:
        return ()
    if isinstance(code_paths, (str, bytes, os.PathLike)) or not isinstance(
        code_paths, (list, tuple)
    ):
        raise ModelError(
            f"code_paths takes a list of files or folders, e.g. code_paths=['helpers.py'], "
            f"got {type(code_paths).__name__}."
        )
    if len(code_paths) > MAX_CODE_PATHS:
        raise ModelError(
            f"code_paths names {len(code_paths)} paths, more than {MAX_CODE_PATHS}; put the "
            "modules in a few folders and list those."
        )
    checked: list[Path] = []
    names: set[str] = set()
    totals = [0, 0]  # files, bytes
    for item in code_paths:
        if not isinstance(item, (str, os.PathLike)) or not os.fspath(item):
            raise ModelError(f"code_paths entries are paths of files or folders, got {item!r}.")
        path = Path(os.path.abspath(os.fspath(item)))
        if not path.name:
            raise ModelError(f"code path {str(item)!r} is a file system root; name a folder.")
        if path.name in names:
            raise ModelError(
                f"two code paths are named {path.name!r}; both would be copied to "
                f"'{CODE_FOLDER}/{path.name}'. Rename one or list their common folder."
            )
        names.add(path.name)
        try:
            found = _check_one(path, item, totals)
        except OSError as exc:  # an unreadable folder or file
            raise ModelError(f"code path {str(item)!r} cannot be read ({exc}).") from None
        if not found:
            raise ModelError(
                f"code path {str(item)!r} is not an existing file or folder (from "
                f"{os.getcwd()!r}); pass the path of the module or package the model imports."
            )
        checked.append(path)
    return tuple(checked)


def _check_one(path: Path, item: object, totals: list[int]) -> bool:
    """Check one code path (a file or a whole folder); False if it is neither."""
    if path.is_file():
        _count(path, item, totals)
        return True
    if path.is_dir():
        _check_tree(path, item, totals)
        return True
    return False


def _count(file: Path, item: object, totals: list[int]) -> None:
    """Add one regular file to the totals, refusing anything else or too much."""
    info = file.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"code path {str(item)!r}: {str(file)!r} is not a regular file.")
    totals[0] += 1
    totals[1] += info.st_size
    if totals[0] > MAX_CODE_FILES or totals[1] > MAX_CODE_BYTES:
        raise ModelError(
            f"code_paths hold more than {MAX_CODE_FILES} files or {MAX_CODE_BYTES // 2**20} "
            "MiB; list only the modules the model imports (not data or environments)."
        )


def _check_tree(root: Path, item: object, totals: list[int]) -> None:
    """Walk a code folder: its files count, links must stay inside it and point at files."""
    real_root = root.resolve()
    for base, dirs, files in os.walk(root, onerror=_raise, followlinks=False):
        dirs[:] = [d for d in dirs if d not in SKIPPED_NAMES]
        for name in [*dirs, *files]:
            entry = Path(base) / name
            if entry.is_symlink():
                target = entry.resolve()
                if not target.is_relative_to(real_root) or not target.is_file():
                    raise ModelError(
                        f"code path {str(item)!r}: the link {str(entry)!r} points at "
                        f"{str(target)!r}, which is not a file inside {str(root)!r}; replace "
                        "the link with the file itself or drop it."
                    )
            if name in files:
                _count(entry, item, totals)


def _raise(error: OSError) -> None:
    """``os.walk`` skips what it cannot read; a code path must be read whole."""
    raise error


def copy_code(sources: Sequence[Path], folder: Path) -> str | None:
    """Copy checked code paths into ``folder/code``; the ``code`` entry of ``MLmodel``
    (None without code paths). A code path that holds ``folder`` is refused.
    """
    if not sources:
        return None
    real_folder = folder.resolve()
    for source in sources:
        if source.is_dir() and real_folder.is_relative_to(source.resolve()):
            raise ModelError(
                f"code path {str(source)!r} holds the model's own folder {str(folder)!r}; "
                "save the model outside the code it copies."
            )
    target = folder / CODE_FOLDER
    target.mkdir()
    for source in sources:
        try:
            if source.is_dir():
                shutil.copytree(source, target / source.name,
                                ignore=shutil.ignore_patterns(*SKIPPED_NAMES))  # fmt: skip
            else:
                shutil.copy(source, target / source.name)
        except (OSError, shutil.Error) as exc:
            raise ModelError(
                f"code path {str(source)!r} cannot be copied into the model ({exc}); check "
                "that it is readable and was not changed while the model was saved."
            ) from None
    return CODE_FOLDER


def add_code_to_path(folder: Path, descriptor: Mapping[str, Any], flavor: str) -> None:
    """Put the model's ``code`` folder first on ``sys.path`` (as MLflow's loaders do), so
    the pickle finds the modules logged with ``code_paths``; a model without one is untouched.
    """
    from carnet.artifacts import resolve

    flavors = descriptor["flavors"]
    sections = [flavors.get(flavor) or {}, flavors.get("python_function") or {}]
    name = next((s["code"] for s in sections if s.get("code")), None)
    if name is None:
        return
    if not isinstance(name, str):
        raise ModelError(f"the model in {str(folder)!r} names its code folder as {name!r}.")
    try:
        code = resolve(folder, name)
    except CarnetError as exc:  # a forged entry: '..', an absolute path or a link
        raise ModelError(f"the model's code folder {name!r} is refused: {exc}") from None
    if not code.is_dir():
        raise ModelError(
            f"the model's code folder {str(code)!r} is missing; copy the whole model folder."
        )
    text = str(code)
    if text not in sys.path:
        sys.path.insert(0, text)


__all__ = ["CODE_FOLDER", "add_code_to_path", "check_code_paths", "copy_code"]

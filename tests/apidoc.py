"""docs/api.md, generated from the docstrings of Carnet's public surface.

The page lists what a user of the library may call: ``carnet.__all__`` (the
fluent API, ``ActiveRun``, safe mode), ``carnet.Client`` and its public
methods, the entities, the error tree of ``carnet.errors``, the filter
language (``carnet.query.__all__``) and the flavours (``carnet.sklearn``,
``carnet.models``). Everything on it comes from the code, so the page cannot
drift: ``tests/test_apidoc.py`` fails when docs/api.md differs from what this
module writes. Regenerate it from the repository root with::

    python -m tests.apidoc

Docstrings are written in plain text with ``code`` in double back-ticks and
Google-style ``Args:`` blocks; this module turns the blocks into lists and
Sphinx roles (:func:`x`) into code. A name without any docstring stops the
generation with an error (tests/test_docstrings.py names it too).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "api.md"
#: The command that rewrites docs/api.md, run from the repository root.
REGENERATE = "python -m tests.apidoc"
#: Signatures longer than this are written one parameter a line.
SIGNATURE_WIDTH = 88

_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc):`~?([^`]+)`")
_ARG = re.compile(r"^    (\S[^:]*):\s*(.*)$")


class _Raw:
    """An annotation or default written as its source text (not its repr)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


# -- docstrings to Markdown ------------------------------------------------------------------


def _escape(text: str) -> str:
    """Outside code spans, ``<`` would open an HTML tag in Markdown: write it as ``&lt;``."""
    parts = re.split(r"(``.*?``|`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in parts)


def _arguments(lines: list[str]) -> Iterator[str]:
    """An ``Args:`` block's indented lines as a Markdown list, one item an argument."""
    item: list[str] = []
    for line in lines:
        match = _ARG.match(line)
        if match and not line.startswith("     "):
            if item:
                yield " ".join(item)
            names = ", ".join(f"`{n.strip()}`" for n in match.group(1).split(","))
            item = [f"- {names}: {match.group(2)}".rstrip()]
        else:
            item.append(line.strip())
    if item:
        yield " ".join(item)


def markdown_of(doc: str) -> str:
    """A cleaned docstring as Markdown: roles to code, ``Args:`` to a list, ``::`` to ``:``."""
    lines = _ROLE.sub(r"``\1``", doc).split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "Args:":
            block = []
            i += 1
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if lines[i].strip():
                    block.append(lines[i])
                elif i + 1 < len(lines) and not lines[i + 1].startswith("    "):
                    break
                i += 1
            out += ["**Arguments**", ""] + [_escape(a) for a in _arguments(block)]
            continue
        if line.startswith("    "):  # a literal block: Markdown shows it as code, verbatim
            out.append(line)
        else:
            out.append(_escape(line[:-1] if line.endswith("::") else line))
        i += 1
    return "\n".join(out).strip()


def docstring(obj: Any, name: str) -> str:
    """The object's own docstring, cleaned; an undocumented public name is an error."""
    doc = obj.__doc__ if "__doc__" in vars(type(obj)) or inspect.isroutine(obj) else None
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
    if not doc:
        raise SystemExit(f"{name} has no docstring; document it before regenerating docs/api.md")
    return inspect.cleandoc(doc)


# -- signatures ----------------------------------------------------------------------------


def _default(value: Any) -> _Raw:
    if isinstance(value, enum.Enum):
        return _Raw(f"{type(value).__name__}.{value.name}")
    return _Raw(repr(value))


def signature(obj: Callable[..., Any], name: str, skip_self: bool = False) -> str:
    """``name(params) -> return`` with annotations as written in the source."""
    sig = inspect.signature(obj)
    params = []
    for p in sig.parameters.values():
        changes: dict[str, Any] = {}
        if p.annotation is not p.empty:
            changes["annotation"] = _Raw(str(p.annotation))
        if p.default is not p.empty:
            changes["default"] = _default(p.default)
        params.append(p.replace(**changes))
    if skip_self and params and params[0].name in ("self", "cls"):
        params = params[1:]
    returns = sig.return_annotation
    sig = sig.replace(
        parameters=params,
        return_annotation=sig.empty if returns is sig.empty else _Raw(str(returns)),
    )
    text = f"{name}{sig}"
    if len(text) <= SIGNATURE_WIDTH:
        return text
    rendered = [str(p) for p in sig.parameters.values()]
    # Insert the bare markers that str(Signature) adds: '/' after positional-only, '*'.
    lines, seen_star = [], False
    kinds = [p.kind for p in sig.parameters.values()]
    for index, (text_p, kind) in enumerate(zip(rendered, kinds, strict=True)):
        if kind is inspect.Parameter.VAR_POSITIONAL:
            seen_star = True
        if kind is inspect.Parameter.KEYWORD_ONLY and not seen_star:
            lines.append("    *,")
            seen_star = True
        lines.append(f"    {text_p},")
        if kind is inspect.Parameter.POSITIONAL_ONLY and (
            index + 1 == len(kinds) or kinds[index + 1] is not inspect.Parameter.POSITIONAL_ONLY
        ):
            lines.append("    /,")
    tail = ")" if returns is inspect.Signature.empty else f") -> {returns}"
    return "\n".join([f"{name}(", *lines, tail])


# -- what the page lists -------------------------------------------------------------------


def _line(obj: Any) -> int:
    """Where an object is defined in its file, to list names in source order."""
    try:
        return inspect.getsourcelines(inspect.unwrap(obj))[1]
    except (OSError, TypeError):
        return 0


def _code(text: str) -> list[str]:
    return ["```python", text, "```"]


def _members(cls: type) -> list[tuple[str, Any]]:
    """A class's own public methods and properties, in source order."""
    found = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            found.append((name, value))
    return sorted(
        found, key=lambda item: _line(item[1].fget if isinstance(item[1], property) else item[1])
    )


def _comment_doc(module: ModuleType, name: str) -> str:
    """The ``#:`` comment above ``name = ...`` in the module's package: a constant's docstring."""
    assert module.__file__ is not None
    folder = Path(module.__file__).parent
    files = sorted(folder.glob("*.py")) if module.__file__.endswith("__init__.py") else []
    for path in [Path(module.__file__), *files]:
        lines = path.read_text(encoding="utf-8").split("\n")
        for index, line in enumerate(lines):
            if re.match(rf"^{re.escape(name)}(\s*:[^=]+)?\s*=", line):
                comments = []
                j = index - 1
                while j >= 0 and lines[j].startswith("#:"):
                    comments.insert(0, lines[j][2:].strip())
                    j -= 1
                if comments:
                    return " ".join(comments)
    raise SystemExit(f"{module.__name__}.{name} has no '#:' comment; document it")


def entry(obj: Any, shown: str, level: int = 3, members: bool = True) -> list[str]:
    """One name's section: heading, signature, docstring, and a class's members."""
    out = [f"{'#' * level} `{shown}`", ""]
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        out += _code(f"class {shown}({', '.join(b.__name__ for b in obj.__bases__)})")
        out += ["", markdown_of(docstring(obj, shown)), ""]
        out += ["Members: " + ", ".join(f"`{m.name}`" for m in obj) + ".", ""]
    elif inspect.isclass(obj) and issubclass(obj, BaseException):
        bases = ", ".join(b.__name__ for b in obj.__bases__)
        out += _code(f"class {shown}({bases})")
        out += ["", markdown_of(docstring(obj, shown)), ""]
        code = getattr(obj, "error_code", None)
        if code is not None:
            out += [f"MLflow `error_code`: `{code}`.", ""]
    elif inspect.isclass(obj):
        out += _code("class " + signature(obj, shown).removesuffix(" -> None"))
        out += ["", markdown_of(docstring(obj, shown)), ""]
    else:
        out += _code(signature(obj, shown))
        out += ["", markdown_of(docstring(obj, shown)), ""]
    if members and inspect.isclass(obj) and not issubclass(obj, (enum.Enum, BaseException)):
        owner = shown.rsplit(".", 1)[-1]
        for name, member in _members(obj):
            out += member_entry(member, f"{owner}.{name}", level + 1)
    return out


def member_entry(member: Any, shown: str, level: int) -> list[str]:
    """A method or property of a class."""
    out = [f"{'#' * level} `{shown}`", ""]
    if isinstance(member, property):
        assert member.fget is not None
        returns = inspect.signature(member.fget).return_annotation
        kind = "" if returns is inspect.Signature.empty else f": {returns}"
        out += _code(f"{shown}{kind}  # property")
        out += ["", markdown_of(docstring(member.fget, shown)), ""]
    else:
        out += _code(signature(member, shown, skip_self=True))
        out += ["", markdown_of(docstring(member, shown)), ""]
    return out


def constant(module: ModuleType, name: str, shown: str, level: int = 3) -> list[str]:
    """A type alias or constant: its value's text and its ``#:`` comment."""
    value = getattr(module, name)
    if hasattr(value, "__args__"):  # a type alias: its members, without module prefixes
        text = re.sub(r"\b(?:typing|carnet(?:\.\w+)*)\.", "", str(value))
    else:
        text = repr(value)
    heading = f"{'#' * level} `{shown}`"
    return [heading, "", *_code(f"{shown} = {text}"), "", _escape(_comment_doc(module, name)), ""]


#: Modules whose classes the page documents in full: elsewhere a re-export of one of
#: their names points there instead of repeating it.
DOCUMENTED_IN_FULL = ("carnet.client", "carnet.entities", "carnet.errors", "carnet.models")


def listing(module: ModuleType, names: list[str], prefix: str, level: int = 3) -> list[str]:
    """The entries of ``names`` from ``module``, in source order, shown as ``prefix.name``."""
    out: list[str] = []
    objects = [(n, getattr(module, n)) for n in names]
    for name, obj in objects:
        home = getattr(obj, "__module__", module.__name__)
        if home != module.__name__ and home in DOCUMENTED_IN_FULL:
            heading = f"{'#' * level} `{prefix}.{name}`"
            out += [heading, "", f"The same as `{home}.{obj.__qualname__}`.", ""]
    objects = [
        (n, o)
        for n, o in objects
        if getattr(o, "__module__", module.__name__) == module.__name__
        or getattr(o, "__module__", "") not in DOCUMENTED_IN_FULL
    ]
    documented = [(n, o) for n, o in objects if inspect.isclass(o) or inspect.isroutine(o)]
    others = [n for n, o in objects if not (inspect.isclass(o) or inspect.isroutine(o))]
    for name, obj in sorted(documented, key=lambda item: (item[1].__module__, _line(item[1]))):
        out += entry(obj, f"{prefix}.{name}", level)
    for name in others:
        out += constant(module, name, f"{prefix}.{name}", level)
    return out


# -- the page ------------------------------------------------------------------------------


#: Where each part of ``carnet.__all__`` is documented, by the module that defines it:
#: these modules have sections of their own; every other defining module gets one
#: titled by its name (so a new public module cannot be left off the page).
SECTION_TITLES = {
    "carnet.fluent": "Fluent API",
    "carnet.run_context": "Fluent API",  # ActiveRun, what start_run returns
    "carnet.safe_mode": "Safe mode",
    "carnet.system_metrics": "System metrics",
}
#: Public subpackages loaded on first touch (``carnet.sklearn`` as ``mlflow.sklearn``),
#: each documented from its ``__all__``.
SUBPACKAGES = (
    ("carnet.sklearn", "Flavour: carnet.sklearn"),
    ("carnet.pyfunc", "Flavour: carnet.pyfunc"),
    ("carnet.models", "Models: carnet.models"),
    ("carnet.data", "Datasets: carnet.data"),
)
#: Names of ``carnet.__all__`` that are another name under MLflow's spelling, or a value.
ALIASES = frozenset({"MlflowClient", "MlflowException", "__version__"})


def anchor(title: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _intro(module: ModuleType) -> list[str]:
    return [markdown_of(inspect.cleandoc(module.__doc__ or "")), ""]


def markdown() -> str:
    """The whole of docs/api.md."""
    import carnet
    from carnet import client, entities, errors, query

    exported = set(carnet.__all__)

    def shown_name(obj: Any, fallback: str) -> str:
        name = getattr(obj, "__name__", "")
        return f"carnet.{name}" if name in exported and getattr(carnet, name) is obj else fallback

    own_sections = {client.__name__, entities.__name__, errors.__name__}
    by_module: dict[str, list[str]] = {}
    for name in carnet.__all__:
        if name in ALIASES:
            continue
        home = getattr(getattr(carnet, name), "__module__", "carnet")
        if home not in own_sections:
            by_module.setdefault(home, []).append(name)
    titled: dict[str, list[str]] = {}
    for home in sorted(by_module, key=lambda m: (m not in SECTION_TITLES, m)):
        titled.setdefault(SECTION_TITLES.get(home, home), []).append(home)
    first = [t for t in titled if t == "Fluent API"]
    top = first + [t for t in titled if t != "Fluent API"]
    titles = [
        *top,
        "Client",
        "Entities",
        "Errors",
        "Filter language: carnet.query",
        *[title for _, title in SUBPACKAGES],
    ]

    out = [
        "# API reference",
        "",
        f"<!-- Generated from the docstrings by `{REGENERATE}`; do not edit. -->",
        "",
        "`import carnet as mlflow` runs ordinary MLflow tracking code: the fluent functions "
        "and `carnet.Client` (alias `carnet.MlflowClient`) keep MLflow's names and argument "
        "names. Each entry says what the call does in Carnet, its arguments where they are "
        "not obvious, and where Carnet differs from MLflow. Every mistake raises a "
        "subclass of `carnet.CarnetError` whose message says what to fix "
        "(see [Errors](#errors)); the filter language is described in "
        "[query.md](query.md) and the environment variables in [settings.md](settings.md).",
        "",
        "## Contents",
        "",
        *[f"- [{title}](#{anchor(title)})" for title in titles],
        "",
    ]

    for title in top:
        out += [f"## {title}", ""]
        for home in titled[title]:
            module = importlib.import_module(home)
            if home != "carnet.run_context":
                out += _intro(module)
            out += listing(module, by_module[home], "carnet")

    out += ["## Client", "", *_intro(client)]
    out += ["`carnet.MlflowClient` and `carnet.tracking.MlflowClient` are the same class.", ""]
    out += entry(client.Client, "carnet.Client")
    out += entry(
        client.RunOperations, shown_name(client.RunOperations, "carnet.client.RunOperations")
    )

    out += ["## Entities", "", *_intro(entities)]
    classes = [
        (name, value)
        for name, value in vars(entities).items()
        if inspect.isclass(value)
        and value.__module__ == entities.__name__
        and not name.startswith("_")
    ]
    for name, value in sorted(classes, key=lambda item: _line(item[1])):
        out += entry(value, shown_name(value, f"carnet.entities.{name}"))

    out += ["## Errors", "", *_intro(errors)]
    tree = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, errors.CarnetError)
    ]
    for value in sorted(tree, key=_line):
        out += entry(value, shown_name(value, f"carnet.errors.{value.__name__}"))

    out += ["## Filter language: carnet.query", "", *_intro(query)]
    out += listing(query, list(query.__all__), "carnet.query")

    for name, title in SUBPACKAGES:
        module = importlib.import_module(name)
        out += [f"## {title}", "", *_intro(module)]
        out += listing(module, list(module.__all__), name)

    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip("\n") + "\n"


def write_docs(path: Path = DOCS) -> None:
    """Rewrite docs/api.md (or ``path``) from the docstrings."""
    path.write_text(markdown(), encoding="utf-8")


if __name__ == "__main__":
    write_docs(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS)

"""The view (experiments, query, sort, selection, chart choices) <-> the URL.

One canonical copy of the view lives in session state as text, exactly as it
appears in the URL. On a fresh session (a pasted link) the URL fills it; within
a session it survives page switches, which may drop the query string; after each
run the URL is rewritten from it, so the address bar is always a shareable link.
Widgets get their own session keys seeded from the view (Streamlit deletes the
state of widgets that are not on the current page), and pages copy what the
user picked back with :func:`put`.

We do not use ``bind="query-params"``: a bound widget's parameter belongs to one
page and is dropped on navigation, while the query and the selection must follow
the user from the runs page to the compare page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, cast

import streamlit as st

VIEW = "carnet.view"
WRITTEN = "carnet.url"
WIDGET_PREFIX = "w."
PAGE = "carnet.page"
ROUTER_WIDGETS = frozenset({"exp", "live"})
GLOBAL_KEYS = ("exp", "q", "sort", "sel", "live")
PAGE_KEYS: dict[str, tuple[str, ...]] = {
    "": ("best", "dir", "cols", "diff", "pg", "n"),
    "runs": ("best", "dir", "cols", "diff", "pg", "n"),
    "compare": (
        "tab",
        "sx",
        "sy",
        "sc",
        "slx",
        "sly",
        "pc",
        "pcc",
        "hx",
        "hy",
        "hm",
        "bx",
        "bm",
        "cm",
        "cx",
        "csm",
        "clog",
        "im",
    ),
    "run": ("run", "rtab", "rm", "cx", "csm"),
}
LIST_KEYS = frozenset({"exp", "sel", "cols", "pc"})
# Widgets whose value is derived from a URL key (and must be re-seeded when it changes).
DERIVED_WIDGETS = {
    "sort": ("sortcol", "sortdir"),
    "cols": ("cols.attributes", "cols.metrics", "cols.params", "cols.tags"),
}


def _session() -> MutableMapping[str, Any]:
    return cast("MutableMapping[str, Any]", st.session_state)


def url_view(params: Mapping[str, list[str]]) -> dict[str, str]:
    """Query parameters as view text: repeated list keys are joined with commas."""
    out = {}
    for key, values in params.items():
        if not values:
            continue
        out[key] = ",".join(values) if key in LIST_KEYS else values[-1]
    return out


def load_url() -> None:
    """Adopt every URL parameter that differs from what this session last wrote.

    A fresh session takes the whole URL; later runs take only what changed from
    outside (a link within the app such as ``/run?run=...``).
    """
    session = _session()
    view: dict[str, str] = session.setdefault(VIEW, {})
    written: dict[str, str] | None = session.get(WRITTEN)
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    for key, value in url_view(params).items():
        if written is None or written.get(key) != value:
            view[key] = value
            for name in (key, *DERIVED_WIDGETS.get(key, ())):
                session.pop(WIDGET_PREFIX + name, None)
    if written is None:
        session[WRITTEN] = {}


def get(key: str, default: str = "") -> str:
    return str(_session().get(VIEW, {}).get(key, default))


def get_list(key: str) -> list[str]:
    text = get(key)
    return [part.strip() for part in text.split(",") if part.strip()]


def get_bool(key: str, default: bool = False) -> bool:
    text = get(key)
    return default if text == "" else text.lower() in ("1", "true", "yes", "on")


def get_int(key: str, default: int) -> int:
    try:
        return int(get(key, str(default)))
    except ValueError:
        return default


def get_float(key: str, default: float) -> float:
    try:
        return float(get(key, str(default)))
    except ValueError:
        return default


def text_of(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def put(key: str, value: object, default: object = None) -> None:
    """Record a choice; a value equal to ``default`` (or empty) leaves the URL clean."""
    view: dict[str, str] = _session().setdefault(VIEW, {})
    text = text_of(value)
    if text == "" or (default is not None and text == text_of(default)):
        view.pop(key, None)
    else:
        view[key] = text


SELECTION_GENERATION = "carnet.selgen"


def clear_selection() -> None:
    """Forget the selected runs, table widgets included (their keys carry a generation)."""
    put("sel", [])
    session = _session()
    session[SELECTION_GENERATION] = session.get(SELECTION_GENERATION, 0) + 1


def selection_generation() -> int:
    return int(_session().get(SELECTION_GENERATION, 0))


def widget_key(key: str) -> str:
    return WIDGET_PREFIX + key


def seed(key: str, value: object) -> str:
    """Give the widget for ``key`` its starting value (only when it has none) and
    return its session key; pass that as the widget's ``key`` and no ``value``."""
    session = _session()
    wkey = widget_key(key)
    if wkey not in session:
        session[wkey] = value
    return wkey


def reset_widget(key: str) -> None:
    """Forget a widget's state so the next run seeds it from the view again."""
    _session().pop(widget_key(key), None)


def on_page(page: str) -> None:
    """After a page switch, forget the page widgets' state so they re-seed from the view.

    A widget with the same key on another page is a new widget to Streamlit, and
    would otherwise start empty (the query field is on two pages). The sidebar's
    widgets belong to the router and keep their state.
    """
    session = _session()
    if session.get(PAGE) == page:
        return
    session[PAGE] = page
    for key in [k for k in session if isinstance(k, str) and k.startswith(WIDGET_PREFIX)]:
        if key[len(WIDGET_PREFIX) :] not in ROUTER_WIDGETS:
            session.pop(key, None)


def wanted_params(page: str) -> dict[str, str]:
    """What the URL should hold on ``page``: the global keys and the page's own."""
    view: dict[str, str] = _session().get(VIEW, {})
    keys: Iterable[str] = (*GLOBAL_KEYS, *PAGE_KEYS.get(page, ()))
    return {k: view[k] for k in keys if view.get(k)}


def sync_url(page: str) -> None:
    """Rewrite the URL from the view (only when it differs, to spare the browser)."""
    session = _session()
    wanted = wanted_params(page)
    current = url_view({k: st.query_params.get_all(k) for k in st.query_params})
    if current != wanted:
        st.query_params.from_dict(wanted)
    session[WRITTEN] = dict(wanted)

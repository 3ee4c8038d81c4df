"""The view (experiments, filter, sort, selection, chart choices) <-> the URL.

Each page declares the URL keys it reads as :class:`UrlKey` values in its own
module (the keys the router and several pages share are in ``shared_keys.py``);
this module only moves text between ``st.query_params`` and session state.

One canonical copy of the view lives in session state as text, exactly as it
appears in the URL. A URL parameter that changed from outside (a pasted link, a
link within the app such as ``/run?run=...``) waits until the key that names it
is adopted: the router adopts the keys it reads, each page adopts its own with
:func:`use`. An old link's former key names are read as aliases of the new ones.
Within a session the view survives page switches, which may drop the query
string; after each run the URL is rewritten from it under the new names, so the
address bar is always a shareable link. Widgets get their own session keys
seeded from the view (Streamlit deletes the state of widgets that are not on the
current page), and pages copy what the user picked back with :meth:`UrlKey.write`.

Adoption waits for the page, rather than the router importing every page to
learn its keys, because the compare page's imports (Altair) would then slow the
first paint of the runs page.

We do not use ``bind="query-params"``: a bound widget's parameter belongs to one
page and is dropped on navigation, while the filter and the selection must follow
the user from the runs page to the compare page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import streamlit as st

VIEW = "carnet.view"
WRITTEN = "carnet.url"
INCOMING = "carnet.url.incoming"
PAGE_KEYS = "carnet.url.page"
WIDGET_PREFIX = "w."
PAGE = "carnet.page"

T = TypeVar("T")


def words(text: str) -> tuple[str, ...]:
    """A comma-separated list as its items, blanks dropped (how list keys read)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def flag(text: str) -> bool:
    """A URL switch: ``1``, ``true``, ``yes`` or ``on`` (any case) means on."""
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class UrlKey(Generic[T]):
    """One URL parameter of the view, declared by the page that reads it.

    ``name`` is what links carry; ``aliases`` are former names still read from
    old links (never written); ``parse`` turns the URL's text into a value and
    ``default`` stands in when the key is absent or its text does not parse. A
    key with ``many`` holds a list: repeated parameters are joined with commas.
    ``widgets`` names widgets derived from the key (other than its own), which
    must start again from the view when a link changes the key.
    """

    name: str
    default: T
    parse: Callable[[str], T]
    aliases: tuple[str, ...] = ()
    many: bool = False
    widgets: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The name and then the aliases: the order in which a link is searched."""
        return (self.name, *self.aliases)

    def text_of(self, values: list[str]) -> str:
        """The view's text for the values a link gave (the last one, or all for a list)."""
        if not values:
            return ""
        return ",".join(values) if self.many else values[-1]

    def text(self) -> str:
        """The key's text in the view (empty when unset)."""
        return get(self.name)

    def read(self, default: T | None = None) -> T:
        """The key's value; ``default`` (else the declared one) when unset or unreadable."""
        fallback = self.default if default is None else default
        text = self.text()
        if text == "":
            return fallback
        try:
            return self.parse(text)
        except ValueError:
            return fallback

    def write(self, value: object, default: object = None) -> None:
        """Record a choice; a value equal to ``default`` (else the declared one) or
        empty leaves the key out of the URL, so links stay short."""
        put(self.name, value, self.default if default is None else default)


def _session() -> MutableMapping[str, Any]:
    return cast("MutableMapping[str, Any]", st.session_state)


def _view() -> dict[str, str]:
    return cast("dict[str, str]", _session().setdefault(VIEW, {}))


def _url() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def load_url() -> None:
    """Take in every URL parameter that differs from what this session last wrote.

    A fresh session takes the whole URL; later runs take only what changed from
    outside. What is taken waits, under the name the link used, until a key
    declaring that name is adopted (:func:`adopt`, :func:`use`).
    """
    session = _session()
    _view()
    incoming: dict[str, list[str]] = session.setdefault(INCOMING, {})
    written: dict[str, str] | None = session.get(WRITTEN)
    for name, values in _url().items():
        if written is None or [written.get(name)] != values:
            incoming[name] = values
    if written is None:
        session[WRITTEN] = {}
    session[PAGE_KEYS] = ()  # the page about to run declares its own


def adopt(keys: Iterable[UrlKey[Any]]) -> None:
    """Move what a link said about ``keys`` into the view, old names included.

    The key's own name wins over an alias when a link carries both. The key's
    widgets are forgotten so they start again from the new value.
    """
    session = _session()
    view = _view()
    incoming: dict[str, list[str]] = session.setdefault(INCOMING, {})
    for key in keys:
        found = next((n for n in key.names if n in incoming), None)
        if found is None:
            continue
        view[key.name] = key.text_of(incoming[found])
        for name in key.names:
            incoming.pop(name, None)
        for widget in (key.name, *key.widgets):
            session.pop(WIDGET_PREFIX + widget, None)


def use(keys: Iterable[UrlKey[Any]]) -> None:
    """Declare the keys the current page reads and shows in its URL (call it first)."""
    keys = tuple(keys)
    adopt(keys)
    _session()[PAGE_KEYS] = tuple(dict.fromkeys(k.name for k in keys))


def get(key: str, default: str = "") -> str:
    """The view's text for ``key`` (a URL key name), or ``default`` when unset."""
    return str(_session().get(VIEW, {}).get(key, default))


def get_list(key: str) -> list[str]:
    """The items of a comma-separated key, for widgets that hold several values."""
    return list(words(get(key)))


def get_bool(key: str, default: bool = False) -> bool:
    """A switch from the view, for toggles; ``default`` when unset."""
    text = get(key)
    return default if text == "" else flag(text)


def get_int(key: str, default: int) -> int:
    """A whole number from the view; ``default`` when unset or not a number."""
    try:
        return int(get(key, str(default)))
    except ValueError:
        return default


def get_float(key: str, default: float) -> float:
    """A number from the view, for sliders; ``default`` when unset or not a number."""
    try:
        return float(get(key, str(default)))
    except ValueError:
        return default


def text_of(value: object) -> str:
    """A widget's value as URL text: lists comma-separated, switches ``1``/``0``."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def put(key: str, value: object, default: object = None) -> None:
    """Record a choice; a value equal to ``default`` (or empty) leaves the URL clean."""
    view = _view()
    text = text_of(value)
    if text == "" or (default is not None and text == text_of(default)):
        view.pop(key, None)
    else:
        view[key] = text


def widget_key(key: str) -> str:
    """The session key of the widget that edits URL key ``key``."""
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


def on_page(page: str, keep: Iterable[UrlKey[Any]] = ()) -> None:
    """After a page switch, forget the page widgets' state so they re-seed from the view.

    A widget with the same key on another page is a new widget to Streamlit, and
    would otherwise start empty (the filter field is on two pages). The widgets of
    the keys in ``keep`` belong to the router's sidebar and keep their state.
    """
    session = _session()
    if session.get(PAGE) == page:
        return
    session[PAGE] = page
    kept = {widget_key(k.name) for k in keep}
    for key in [k for k in session if isinstance(k, str) and k.startswith(WIDGET_PREFIX)]:
        if key not in kept:
            session.pop(key, None)


def wanted_params() -> dict[str, str]:
    """What the URL should hold on the current page: the keys it declared, when set."""
    view: dict[str, str] = _session().get(VIEW, {})
    names: tuple[str, ...] = _session().get(PAGE_KEYS, ())
    return {k: view[k] for k in names if view.get(k)}


def sync_url() -> None:
    """Rewrite the URL from the view (only when it differs, to spare the browser).

    Only the current page's declared keys are written, under their new names; a
    run in which no page declared its keys leaves the URL alone.
    """
    session = _session()
    if not session.get(PAGE_KEYS):
        return
    wanted = wanted_params()
    if _url() != {k: [v] for k, v in wanted.items()}:
        st.query_params.from_dict(wanted)
    session[WRITTEN] = dict(wanted)

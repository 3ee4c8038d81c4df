"""Models page: the model registry's registered models, their versions and how to use one.

A searchable list of registered models (MLflow's registry filter); for the
chosen model its aliases, tags and versions, each with its source run (a link
to the run page) and that run's metrics; for the chosen version its signature,
input example, the ``models:/`` URIs that load it and the command that serves
it. Names, aliases, tags and descriptions are shown as text, never markup.
"""

from __future__ import annotations

import streamlit as st

import carnet
from carnet.entities import ModelVersion, RegisteredModel
from carnet.errors import StoreError
from dashboard import data, registry_frames, shared_keys, state, ui
from dashboard.state import UrlKey

# This page's URL keys.
#: The registry filter of the model list, e.g. ``name LIKE 'dia%'``.
MODEL_FILTER = UrlKey("model_filter", "", str)
#: The registered model shown, by name.
MODEL = UrlKey("model", "", str)
#: The version of that model shown (its number).
VERSION = UrlKey("version", "", str)
URL_KEYS = (*shared_keys.EVERY_PAGE, MODEL_FILTER, MODEL, VERSION)
#: The alias whose version opens first when the link names none (MLflow's convention).
PREFERRED_ALIAS = "champion"
EMPTY_REGISTRY = "No registered models yet. Register a model logged in a run:"


def empty_registry() -> None:
    """What to do when the registry is empty: register a logged model, then alias it."""
    st.info(EMPTY_REGISTRY, icon="📭")
    st.code(registry_frames.REGISTER_EXAMPLE, language="python")
    st.markdown("Then reload this page; the model's versions, signature and aliases show here.")


def search_bar() -> str:
    """The registry filter field; returns the filter as typed (trimmed)."""
    text = st.text_input(
        "Search models",
        key=state.seed(MODEL_FILTER.name, MODEL_FILTER.read()),
        placeholder="for example: name LIKE 'dia%'  or  tags.team = 'med'",
        help="MLflow's registry filter: name, tags.<key>; =, !=, LIKE, ILIKE, IN. "
        "Press Enter to apply.",
    )
    query = (text or "").strip()
    MODEL_FILTER.write(query)
    return query


def model_table(models: list[RegisteredModel]) -> None:
    """The registered models as a table, each with a link that opens it here."""
    cc = st.column_config
    st.dataframe(
        registry_frames.models_frame(models),
        hide_index=True,
        width="stretch",
        column_config={
            "name": cc.TextColumn("name"),
            "latest": cc.NumberColumn("latest version", format="%d"),
            "aliases": cc.TextColumn("aliases"),
            "description": cc.TextColumn("description"),
            "updated": cc.DatetimeColumn("last updated", format="distance"),
            "tags": cc.TextColumn("tags"),
            "open": cc.LinkColumn("open", display_text="open", help="show this model"),
        },
        height=min(38 + 35 * max(len(models), 1), 400),
    )


def choose_model(ctx: ui.Context, models: list[RegisteredModel]) -> RegisteredModel | None:
    """The model picker: the listed models, plus the one a link names if the filter hides it."""
    names = [m.name for m in models]
    asked = MODEL.read()
    if asked and asked not in names:
        try:
            data.registered_model(ctx.uri, ctx.version, asked)
            names.insert(0, asked)
        except carnet.NotFoundError:
            st.warning(f"The link names a model this registry does not have: {ui.escape_md(asked)}")
        except carnet.InvalidInputError:
            st.warning("The link's model name is not a valid registered model name.")
    if not names:
        return None
    chosen = ui.select(MODEL.name, "Model", names, asked if asked in names else names[0])
    MODEL.write(chosen)
    try:
        return data.registered_model(ctx.uri, ctx.version, chosen)
    except carnet.NotFoundError:  # deleted between the list and now
        return None


def model_summary(model: RegisteredModel) -> None:
    """The model's description, aliases and tags."""
    st.header(ui.escape_md(model.name), anchor=False)
    if model.description:
        st.text(model.description)
    left, right = st.columns(2)
    with left:
        st.caption("Aliases")
        if model.aliases:
            rows = [
                {"alias": a, "version": int(v), "uri": f"models:/{model.name}@{a}"}
                for a, v in sorted(model.aliases.items())
            ]
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.text("No aliases (set one with Client.set_registered_model_alias).")
    with right:
        st.caption("Tags")
        if model.tags:
            rows = [{"key": k, "value": v} for k, v in sorted(model.tags.items())]
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.text("No tags.")


def version_table(ctx: ui.Context, versions: list[ModelVersion]) -> None:
    """Every version with its source run (a link to the run page) and that run's metrics."""
    run_ids = tuple(mv.run_id for mv in versions if mv.run_id)
    metrics = data.source_metrics(ctx.uri, ctx.version, run_ids)
    frame = registry_frames.versions_frame(versions, metrics)
    cc = st.column_config
    config = {
        "version": cc.NumberColumn("version", format="%d"),
        "aliases": cc.TextColumn("aliases"),
        "status": cc.TextColumn("status"),
        "created": cc.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
        "run": cc.LinkColumn(
            "source run", display_text=r"run=([0-9a-f]{8})", help="open the run's page"
        ),
        "description": cc.TextColumn("description"),
        "tags": cc.TextColumn("tags"),
    }
    for column in frame.columns:
        if column.startswith("metrics."):
            config[column] = cc.NumberColumn(
                registry_frames.metric_label(column),
                format="%.6g",
                help=f"the source run's {ui.escape_md(registry_frames.metric_label(column))}",
            )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config=config,
        height=min(38 + 35 * max(len(frame), 1), 420),
    )


def choose_version(model: RegisteredModel, versions: list[ModelVersion]) -> ModelVersion:
    """The version picker: the link's version, else the champion's, else the newest."""
    numbers = [mv.version for mv in versions]
    preferred = model.aliases.get(PREFERRED_ALIAS)
    default = preferred if preferred in numbers else numbers[0]
    asked = VERSION.read()
    labels = {mv.version: version_label(mv) for mv in versions}
    chosen = ui.select(
        VERSION.name,
        "Version",
        numbers,
        asked if asked in numbers else default,
        format_func=lambda n: labels.get(n, n),
    )
    VERSION.write(chosen)
    return versions[numbers.index(chosen)]


def version_label(mv: ModelVersion) -> str:
    """``3 · champion`` for the picker (aliases after the number)."""
    return " · ".join([mv.version, *sorted(mv.aliases)])


def version_detail(ctx: ui.Context, mv: ModelVersion) -> None:
    """The chosen version: source, how to load and serve it, its signature and example."""
    st.subheader(f"Version {mv.version}", anchor=False)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.caption("Load it")
        st.code(
            "\n".join(registry_frames.model_uris(mv.name, mv.version, mv.aliases)),
            language=None,
        )
        st.caption("Serve it")
        st.code(registry_frames.serve_command(mv.name, mv.version, mv.aliases), language="bash")
    with right:
        st.caption("Source")
        st.text(mv.source or "—")
        if mv.run_id:
            st.page_link(
                ui.RUN_PAGE,
                label="Open the source run",
                icon=":material/open_in_new:",
                query_params={"run": mv.run_id},
            )
        st.caption("Status")
        st.text(f"{mv.status}: {mv.status_message}" if mv.status_message else mv.status)
        if mv.description:
            st.caption("Description")
            st.text(mv.description)
        if mv.tags:
            st.caption("Tags")
            st.text(registry_frames.tags_text(mv.tags))
    signature(ctx, mv)


def signature(ctx: ui.Context, mv: ModelVersion) -> None:
    """The signature's inputs and outputs (names and types), and the saved input example."""
    st.subheader("Signature", anchor=False)
    files = data.model_files(ctx.uri, ctx.version, mv.source or "")
    if files.problem:
        st.info(ui.escape_md(files.problem))  # it may quote a path the registry was given
        return
    if files.signature is None:
        st.info(
            "This model was logged without a signature: pass input_example= (or "
            "signature=) to log_model to record its inputs and outputs."
        )
    else:
        left, right = st.columns(2)
        for column, title, schema in (
            (left, "Inputs", files.signature.inputs),
            (right, "Outputs", files.signature.outputs),
        ):
            with column:
                st.caption(title)
                table = registry_frames.schema_frame(schema)
                if table.empty:
                    st.text("Not recorded.")
                else:
                    st.dataframe(table, hide_index=True, width="stretch")
    if files.flavors:
        st.caption("Flavours: " + ui.escape_md(", ".join(files.flavors)))
    if files.example is not None:
        st.caption("Input example")
        st.code(files.example, language="json", wrap_lines=True)
    elif files.example_bytes:
        st.caption(f"Input example: {files.example_bytes:,} bytes, too large to show here.")


def render() -> None:
    """The page: search and list, then the chosen model's versions and the chosen version."""
    state.use(URL_KEYS)
    ctx = ui.context()
    st.title("Models", anchor=False)
    try:
        everything, _ = data.registered_models(ctx.uri, ctx.version, "")
    except StoreError as exc:  # e.g. a tracking server without registry endpoints
        st.info(f"This store has no model registry to show: {ui.escape_md(exc)}")
        return
    if not everything:
        empty_registry()
        return
    query = search_bar()
    try:
        models, more = data.registered_models(ctx.uri, ctx.version, query)
    except carnet.FilterError as exc:
        ui.filter_error(exc, what="model filter")
        models, more = [], False
    if query and not models and not more:
        st.caption("No registered model matches this filter.")
    if models:
        st.caption(
            f"{len(models):,} registered model{'s' if len(models) != 1 else ''}"
            + (f" (the first {data.MODELS_LIMIT:,})" if more else "")
        )
        model_table(models)
    model = choose_model(ctx, models)
    if model is None:
        return
    model_summary(model)
    versions = data.model_versions(ctx.uri, ctx.version, model.name)
    st.subheader("Versions", anchor=False)
    if not versions:
        st.info("This model has no versions yet: carnet.register_model(source, name) adds one.")
        return
    version_table(ctx, versions)
    version_detail(ctx, choose_version(model, versions))


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import it
    render()

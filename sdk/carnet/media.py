"""Turn what users log as media (dicts, images, tables, figures) into artifact bytes.

Each encoder checks its value and returns the bytes MLflow would write for the
same call, so an artifact logged by Carnet reads the same in MLflow. They
write nothing: ``Client.log_dict``, ``log_image``, ``log_table`` and
``log_figure`` encode first, then store the bytes under the run, so a value
that cannot be encoded leaves the run untouched. numpy, Pillow, pandas and
PyYAML are imported when an encoder needs them, not with Carnet.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from carnet.errors import InvalidValueError
from carnet.validation import validate_key, validate_step

__all__ = ["dict_bytes", "figure_bytes", "image_file", "png_bytes", "table_bytes"]


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """JSON, or YAML for a .yaml/.yml file, formatted as MLflow's ``log_dict`` writes them."""
    suffix = Path(artifact_file).suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            text = yaml.dump(dictionary, indent=2, default_flow_style=False)
        else:
            text = json.dumps(dictionary, indent=2)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"log_dict cannot serialise the value: {exc}") from exc
    return text.encode("utf-8")


def image_file(artifact_file: str | None, key: str | None, step: int | None) -> str:
    """Where an image goes: ``artifact_file``, or step ``step`` of the series ``key``
    (``images/<key>/step_<step>.png``, MLflow's layout); exactly one may be given."""
    if (artifact_file is None) == (key is None):
        raise InvalidValueError("log_image takes exactly one of artifact_file= or key=.")
    if key is not None:
        validate_key(key, "image")
        return f"images/{key}/step_{0 if step is None else validate_step(key, step)}.png"
    assert artifact_file is not None
    return artifact_file


def png_bytes(image: Any) -> bytes:
    """A PIL image, or a numpy array (H×W, H×W×1, H×W×3 or H×W×4; floats in [0, 1],
    other numbers clipped to 0..255), as PNG."""
    import numpy as np
    from PIL import Image

    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise InvalidValueError(
                f"log_image takes an H×W, H×W×3 or H×W×4 array, got shape {array.shape}."
            )
        if array.dtype.kind == "f":
            if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
                raise InvalidValueError("float images must hold values in [0, 1].")
            array = (array * 255).round().astype(np.uint8)
        elif array.dtype != np.uint8:
            array = array.clip(0, 255).astype(np.uint8)
        image = Image.fromarray(
            array.squeeze(-1) if array.ndim == 3 and array.shape[2] == 1 else array
        )
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def table_bytes(data: Any, artifact_file: str) -> bytes:
    """A DataFrame or dict of columns as JSON in pandas' ``split`` layout (MLflow's
    ``log_table``), for a file named ``<name>.json``."""
    import pandas as pd

    if isinstance(data, dict):
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise InvalidValueError(
            f"log_table takes a pandas DataFrame or a dict of columns, got {type(data).__name__}."
        )
    if not artifact_file.lower().endswith(".json"):
        raise InvalidValueError("log_table writes JSON: name the file '<name>.json'.")
    text = data.to_json(orient="split", index=False, date_format="iso")
    return text.encode("utf-8")


def figure_bytes(figure: Any, artifact_file: str, save_kwargs: dict[str, Any] | None) -> bytes:
    """A matplotlib figure in the format the file's suffix names (PNG without one), or a
    plotly figure or Altair chart as HTML; ``save_kwargs`` go to the library's save call."""
    options = dict(save_kwargs or {})
    if hasattr(figure, "savefig"):
        buf = io.BytesIO()
        fmt = Path(artifact_file).suffix.lstrip(".") or "png"
        figure.savefig(buf, format=fmt, **options)
        return buf.getvalue()
    if hasattr(figure, "to_html") or hasattr(figure, "write_html"):
        html = figure.to_html(**options) if hasattr(figure, "to_html") else str(figure)
        return html.encode("utf-8")
    if hasattr(figure, "save"):  # an Altair chart
        text = io.StringIO()
        figure.save(text, format="html", **options)
        return text.getvalue().encode("utf-8")
    raise InvalidValueError(
        f"log_figure takes a matplotlib, plotly or Altair figure, got {type(figure).__name__}."
    )

"""One ``/invocations`` body to one answer: parse it, predict, shape MLflow's JSON.

Used by the server for each request and by ``carnet models predict`` for a
file, so both read bodies and write predictions the same way. A body that is
not one of MLflow's formats is a 400 ``BAD_REQUEST``; one that does not fit the
signature a 400 ``INVALID_PARAMETER_VALUE`` naming the column and its type; a
model that fails on the input a 400 saying so (with the model's one-line
reason, never its traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carnet.errors import SchemaError
from carnet.pyfunc import PyFuncModel
from carnet.scoring.errors import INVALID_PARAMETER_VALUE, ScoringError, short
from carnet.scoring.fastpath import (
    NumericColumns,
    array_predictor,
    numeric_block,
    numeric_columns,
)
from carnet.scoring.output import predictions_json
from carnet.scoring.parsing import (
    CONTENT_TYPE_CSV,
    check_rows,
    decode_json,
    from_csv,
    from_json,
    row_count,
)

logger = logging.getLogger("carnet.scoring")

MODEL_FAILED = (
    "Encountered an unexpected error while evaluating the model. Verify that the input is "
    "compatible with the model for inference."
)


@dataclass(frozen=True)
class Scorer:
    """A loaded model and what its requests are checked against."""

    model: PyFuncModel
    max_rows: int
    numeric: NumericColumns | None
    #: the model's prediction on a NumPy block of the numeric columns, when it takes one
    on_block: Callable[[Any], Any] | None = None

    @classmethod
    def of(cls, model: PyFuncModel, max_rows: int) -> Scorer:
        """The scorer of ``model``, with the fast path when its signature allows it."""
        signature = model.signature
        inputs = signature.inputs if signature is not None else None
        plan = numeric_columns(inputs)
        on_block = None
        if plan is not None:
            section = model.metadata["flavors"].get("python_function") or {}
            name = str(section.get("predict_fn", "predict"))  # checked by PyFuncModel
            on_block = array_predictor(model.get_raw_model(), name, plan)
        return cls(model, max_rows, plan, on_block)

    def parse(self, body: bytes, mime: str) -> tuple[Any, dict[str, Any] | None, bool]:
        """``(data, params, conformed)``: what to predict on; ``conformed`` when the fast
        path already fit it to the signature (a NumPy block when the model takes one, else
        a DataFrame)."""
        signature = self.model.signature
        schema = signature.inputs if signature is not None else None
        if mime == CONTENT_TYPE_CSV:
            frame = from_csv(body, schema)
            check_rows(len(frame), self.max_rows)
            return frame, None, False
        decoded = decode_json(body)
        check_rows(row_count(decoded), self.max_rows)
        if self.numeric is not None:
            block = numeric_block(self.numeric, decoded)
            if block is not None:
                if self.on_block is not None:
                    return block, decoded.params, True
                import pandas as pd

                frame = pd.DataFrame(block, columns=self.numeric.names, copy=False)
                return frame, decoded.params, True
        return from_json(decoded, schema), decoded.params, False

    def predict(self, body: bytes, mime: str) -> Any:
        """The raw prediction for a body of type ``mime`` (``application/json``/``text/csv``)."""
        data, params, conformed = self.parse(body, mime)
        try:
            if conformed:
                if self.on_block is not None:
                    return self.on_block(data)
                return self.model.predict_conformed(data)
            return self.model.predict(data, params=params)
        except SchemaError as exc:
            raise ScoringError(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        except Exception as exc:  # the model's own failure on this input: the caller's to fix
            logger.info("the model failed on a request: %s", exc, exc_info=exc)
            reason = short(f"{type(exc).__name__}: {exc}", 300)
            raise ScoringError(f"{MODEL_FAILED} Error: {reason}") from None

    def answer(self, body: bytes, mime: str) -> bytes:
        """The JSON answer ``{"predictions": ...}`` for one body."""
        return predictions_json(self.predict(body, mime))

"""Datasets as run inputs (``import carnet.data``, as ``mlflow.data``).

``from_pandas`` and ``from_numpy`` wrap data with a name, MLflow's digest, a
source, a schema and a profile; ``carnet.log_input`` records them on a run.
"""

from carnet.data.datasets import (
    BaseDataset,
    NumpyDataset,
    PandasDataset,
    from_numpy,
    from_pandas,
)
from carnet.data.digest import numpy_digest, pandas_digest

Dataset = BaseDataset

__all__ = [
    "BaseDataset",
    "Dataset",
    "NumpyDataset",
    "PandasDataset",
    "from_numpy",
    "from_pandas",
    "numpy_digest",
    "pandas_digest",
]

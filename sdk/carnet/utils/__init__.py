"""The parts of MLflow's ``mlflow.utils`` that tracking code imports: its tag names.

``from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME`` keeps working after the
import line becomes ``import carnet as mlflow``.
"""

from carnet.utils import mlflow_tags as mlflow_tags

__all__ = ["mlflow_tags"]

"""MLflow's exception name, so ``except mlflow.exceptions.MlflowException`` still catches.

Every Carnet error is a :class:`carnet.errors.CarnetError` and carries MLflow's
``error_code``; ``MlflowException`` is the same class under MLflow's name.
"""

from carnet.errors import CarnetError

MlflowException = CarnetError

__all__ = ["MlflowException"]

"""Every error a user can cause, as one tree rooted at :class:`CarnetError`.

Catch ``CarnetError`` to handle any of them; each message says what was wrong
and how to fix the call. The tree::

    CarnetError
    ├── ConfigurationError        bad tracking URI, environment variable or option
    ├── StoreError                the store cannot be opened or used
    │   ├── SchemaVersionError    the store was written by a newer Carnet
    │   └── ReadOnlyError         a write through a read-only client
    ├── NotFoundError             (also a LookupError)
    │   ├── ExperimentNotFoundError
    │   ├── RunNotFoundError
    │   ├── LoggedModelNotFoundError
    │   ├── ArtifactNotFoundError
    │   ├── RegisteredModelNotFoundError
    │   └── ModelVersionNotFoundError  no such version
    │       └── AliasNotFoundError     no version under that alias
    ├── InvalidInputError         (also a ValueError)
    │   ├── InvalidKeyError       a param, metric or tag key breaks the key rules
    │   ├── InvalidValueError     a value of the wrong type or size
    │   ├── ParamOverwriteError   a param logged again with a different value
    │   ├── FilterError           a filter or order_by clause that does not parse
    │   └── ArtifactPathError     an artifact path that leaves the run's folder
    │       └── ArtifactLocationError  an artifact location outside the allowed roots
    ├── ExperimentExistsError     a second experiment with the same name
    ├── RegisteredModelExistsError  a second registered model with the same name
    ├── StateError                an operation not allowed in the current state
    │   ├── RunNotActiveError     logging to a deleted run
    │   ├── ActiveRunError        start_run while a run is active, without nested=True
    │   └── DeletedError          using a deleted experiment
    ├── ModelError                a logged model that cannot be stored or loaded
    │   └── SchemaError           a prediction input that does not fit the model's signature
    ├── EnvironmentBuildError     a Python version or package a new environment needs is missing
    └── ProjectError              an MLflow project that cannot be loaded, fetched or run

Each class carries MLflow's ``error_code`` (``RESOURCE_DOES_NOT_EXIST``,
``INVALID_PARAMETER_VALUE``...), and ``carnet.exceptions.MlflowException`` is
``CarnetError``, so code written to catch MLflow's exception keeps working.
"""

from __future__ import annotations


class CarnetError(Exception):
    """Base of every error Carnet raises on purpose."""

    error_code: str = "INTERNAL_ERROR"


class ConfigurationError(CarnetError):
    """A tracking URI, environment variable or option is invalid."""

    error_code = "INVALID_PARAMETER_VALUE"


class StoreError(CarnetError):
    """The store cannot be opened or used."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this Carnet understands."""


class ReadOnlyError(StoreError):
    """A write was attempted through a read-only client."""


class NotFoundError(CarnetError, LookupError):
    """A named object does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class ExperimentNotFoundError(NotFoundError):
    """No experiment has that id or name."""


class RunNotFoundError(NotFoundError):
    """No run has that id."""


class LoggedModelNotFoundError(NotFoundError):
    """No logged model has that id (or it was deleted)."""


class ArtifactNotFoundError(NotFoundError):
    """No artifact exists at that path."""


class RegisteredModelNotFoundError(NotFoundError):
    """No registered model has that name."""


class ModelVersionNotFoundError(NotFoundError):
    """The registered model has no such version."""


class AliasNotFoundError(ModelVersionNotFoundError):
    """The registered model has no such alias. Its code is MLflow's for this case,
    ``INVALID_PARAMETER_VALUE`` (a 400 on the wire), though it is a not-found error."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidInputError(CarnetError, ValueError):
    """An argument has the wrong type, shape or size."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidKeyError(InvalidInputError):
    """A param, metric or tag key breaks the key rules."""


class InvalidValueError(InvalidInputError):
    """A value has the wrong type or is too long."""


class ParamOverwriteError(InvalidInputError):
    """A param was logged again with a different value; params are immutable."""


class FilterError(InvalidInputError):
    """A filter string or order_by clause does not parse or does not type-check."""


class ArtifactPathError(InvalidInputError):
    """An artifact path is absolute or leaves the run's artifact folder."""


class ArtifactLocationError(ArtifactPathError):
    """An experiment's or run's artifact location is malformed or outside the allowed
    artifact roots (see :mod:`carnet.artifact_location`)."""


class ExperimentExistsError(CarnetError):
    """An experiment with that name already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class RegisteredModelExistsError(CarnetError):
    """A registered model with that name already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class StateError(CarnetError):
    """The operation is not allowed in the current state."""

    error_code = "INVALID_STATE"


class RunNotActiveError(StateError):
    """The run is deleted and takes no data until it is restored (a finished run takes
    data, as on MLflow)."""


class ActiveRunError(StateError):
    """A run is already active in this thread."""


class DeletedError(StateError):
    """The experiment or run is deleted; restore it first."""


class ModelError(CarnetError):
    """A model cannot be logged or loaded."""


class SchemaError(ModelError, ValueError):
    """A prediction input (or a signature) does not fit the model's schema: a missing or
    extra column, or a type that cannot be converted safely.
    """

    error_code = "INVALID_PARAMETER_VALUE"


class EnvironmentBuildError(CarnetError):
    """A virtual environment could not be built: its Python version, a package, or the
    installer itself cannot be had. ``missing`` names what is missing (``python 3.99``,
    ``numpy==99.0``, ``uv``), or is None when the installer failed for another reason.
    """

    error_code = "RESOURCE_DOES_NOT_EXIST"

    def __init__(self, message: str, *, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing


class ProjectError(CarnetError):
    """An MLflow project (``carnet run``) cannot be loaded, fetched or run: a bad
    MLproject file, a parameter of the wrong type, a git URI or version that cannot be
    had, or an environment Carnet does not build.
    """

    error_code = "INVALID_PARAMETER_VALUE"

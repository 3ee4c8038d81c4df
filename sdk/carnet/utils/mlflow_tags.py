"""MLflow's system tag names (``mlflow.utils.mlflow_tags``), for code that reads or sets them.

Carnet writes and reads the same keys, so a filter such as
``f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}'"`` finds the same runs as on
MLflow. Only the names of tracking, projects and models are here; MLflow's
Databricks, tracing and GenAI evaluation names have no meaning in Carnet.
"""

MLFLOW_RUN_NAME = "mlflow.runName"
MLFLOW_RUN_NOTE = "mlflow.note.content"
MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_USER = "mlflow.user"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
MLFLOW_GIT_REPO_URL = "mlflow.source.git.repoURL"
MLFLOW_GIT_DIRTY = "mlflow.source.git.dirty"
MLFLOW_GIT_DIFF = "mlflow.source.git.diff"
MLFLOW_AUTOLOGGING = "mlflow.autologging"
MLFLOW_LOGGED_MODELS = "mlflow.log-model.history"
MLFLOW_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
MLFLOW_LOGGED_IMAGES = "mlflow.loggedImages"
MLFLOW_MODEL_VERSIONS = "mlflow.modelVersions"
MLFLOW_DATASET_CONTEXT = "mlflow.data.context"
MLFLOW_ARTIFACT_LOCATION = "mlflow.artifactLocation"
MLFLOW_RUN_SOURCE_TYPE = "mlflow.runSourceType"
MLFLOW_RUN_TYPE = "mlflow.runType"
MLFLOW_PROJECT_ENTRY_POINT = "mlflow.project.entryPoint"
MLFLOW_PROJECT_ENV = "mlflow.project.env"
MLFLOW_PROJECT_BACKEND = "mlflow.project.backend"
MLFLOW_DOCKER_IMAGE_URI = "mlflow.docker.image.uri"
MLFLOW_DOCKER_IMAGE_ID = "mlflow.docker.image.id"

__all__ = [
    "MLFLOW_ARTIFACT_LOCATION",
    "MLFLOW_AUTOLOGGING",
    "MLFLOW_DATASET_CONTEXT",
    "MLFLOW_DOCKER_IMAGE_ID",
    "MLFLOW_DOCKER_IMAGE_URI",
    "MLFLOW_GIT_BRANCH",
    "MLFLOW_GIT_COMMIT",
    "MLFLOW_GIT_DIFF",
    "MLFLOW_GIT_DIRTY",
    "MLFLOW_GIT_REPO_URL",
    "MLFLOW_LOGGED_ARTIFACTS",
    "MLFLOW_LOGGED_IMAGES",
    "MLFLOW_LOGGED_MODELS",
    "MLFLOW_MODEL_VERSIONS",
    "MLFLOW_PARENT_RUN_ID",
    "MLFLOW_PROJECT_BACKEND",
    "MLFLOW_PROJECT_ENTRY_POINT",
    "MLFLOW_PROJECT_ENV",
    "MLFLOW_RUN_NAME",
    "MLFLOW_RUN_NOTE",
    "MLFLOW_RUN_SOURCE_TYPE",
    "MLFLOW_RUN_TYPE",
    "MLFLOW_SOURCE_NAME",
    "MLFLOW_SOURCE_TYPE",
    "MLFLOW_USER",
]

"""A Carnet-logged diabetes model, served once per module by a real ``carnet models serve``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scoring.served import LoggedModel, log_diabetes_model, serving


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> LoggedModel:
    return log_diabetes_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def base(logged: LoggedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("serve")) / "serve.log"
    with serving(logged.uri, logged.db, log) as url:
        yield url

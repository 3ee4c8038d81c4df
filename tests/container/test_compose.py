"""compose.yaml, read as Docker Compose reads it: a PostgreSQL service and the Carnet server on
it, each with a health check, the server started only once the database is healthy, its
artifacts on a named volume and a tokens file mounted read-only when one is given.

There is no Compose here (run.sh runs ``docker compose config`` when its engine has it);
test_container.py starts the carnet service as Compose would and logs runs into it with
MLflow's client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.container.compose_file import SERVICE_PORT, interpolate, load, run_args

TOKENS = "/run/secrets/carnet-tokens.toml"


def option(command: list[str], name: str) -> str:
    """The value after ``name`` in a command line."""
    assert command.count(name) == 1, command
    return command[command.index(name) + 1]


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """A service's volumes as {target: (source, options)}."""
    found: dict[str, tuple[str, list[str]]] = {}
    for spec in service["volumes"]:
        source, target, *options = str(spec).split(":")
        found[target] = (source, options)
    return found


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${A}", {}, ""),
        ("${A}", {"A": "x"}, "x"),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A:+p}", {}, ""),
        ("${A:+p}", {"A": ""}, ""),
        ("${A:+p}", {"A": "x"}, "p"),
        ("${A+p}", {"A": ""}, "p"),
        ("$${A} ${A}:${B:-5000}", {"A": "a"}, "${A} a:5000"),
    ],
)
def test_interpolation_follows_compose(text: str, variables: dict[str, str], expected: str) -> None:
    assert interpolate(text, variables) == expected


def test_services_volumes_and_the_order_they_start_in() -> None:
    compose = load()
    services = compose["services"]
    assert set(services) == {"postgres", "carnet"}
    assert set(compose["volumes"]) == {"postgres-data", "carnet-artifacts"}

    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "ports" not in postgres, "the database is for the carnet service only"
    assert mounts(postgres)["/var/lib/postgresql/data"][0] == "postgres-data"
    check = postgres["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"], check
    assert "--host=127.0.0.1" in check, "healthy only once the server that stays is up"
    env = postgres["environment"]

    carnet = services["carnet"]
    assert carnet["build"] == "."
    assert carnet["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert carnet["ports"] == [f"5000:{SERVICE_PORT}"]
    uri = carnet["environment"]["CARNET_TRACKING_URI"]
    user, db = env["POSTGRES_USER"], env["POSTGRES_DB"]
    assert uri == f"postgresql+psycopg://{user}:{env['POSTGRES_PASSWORD']}@postgres:5432/{db}"
    for service in (postgres, carnet):
        assert service["restart"] == "unless-stopped"
        assert {"test", "interval", "timeout", "retries", "start_period"} <= set(
            service["healthcheck"]
        )


def test_the_server_command_serves_the_network_and_keeps_artifacts_in_the_volume() -> None:
    carnet = load()["services"]["carnet"]
    command = [str(word) for word in carnet["command"]]
    assert command[:2] == ["carnet", "server"]
    assert option(command, "--host") == "0.0.0.0"
    assert option(command, "--port") == str(SERVICE_PORT)
    artifacts = option(command, "--artifacts")
    assert mounts(carnet)[artifacts] == ("carnet-artifacts", [])
    assert "--db" not in command, "the store comes from CARNET_TRACKING_URI"
    check = " ".join(carnet["healthcheck"]["test"])
    assert f"http://127.0.0.1:{SERVICE_PORT}/health" in check


def test_tokens_are_off_until_a_file_is_given_then_mounted_read_only(tmp_path: Path) -> None:
    carnet = load()["services"]["carnet"]
    assert carnet["environment"]["CARNET_SERVER_TOKENS_FILE"] == ""  # the server: no tokens
    assert mounts(carnet)[TOKENS] == ("/dev/null", ["ro"])

    tokens = tmp_path / "tokens.toml"
    carnet = load({"CARNET_TOKENS_FILE": str(tokens)})["services"]["carnet"]
    assert carnet["environment"]["CARNET_SERVER_TOKENS_FILE"] == TOKENS
    assert mounts(carnet)[TOKENS] == (str(tokens), ["ro"])


def test_settings_reach_the_database_the_port_and_the_dashboard() -> None:
    variables = {"CARNET_DB_PASSWORD": "s3cret", "CARNET_HOST_PORT": "8080"}
    variables["CARNET_UI_PASSWORD"] = "viewers"
    compose = load(variables)
    postgres, carnet = compose["services"]["postgres"], compose["services"]["carnet"]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "s3cret"
    assert ":s3cret@postgres:" in carnet["environment"]["CARNET_TRACKING_URI"]
    assert carnet["ports"] == [f"8080:{SERVICE_PORT}"]
    assert carnet["environment"]["CARNET_UI_PASSWORD"] == "viewers"


def test_artifacts_may_go_to_a_bucket_with_credentials_from_the_shell() -> None:
    carnet = load({"CARNET_ARTIFACTS": "s3://team-bucket/carnet"})["services"]["carnet"]
    command = [str(word) for word in carnet["command"]]
    assert option(command, "--artifacts") == "s3://team-bucket/carnet"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                 "CARNET_S3_ENDPOINT_URL"):  # fmt: skip
        assert name in carnet["environment"] and carnet["environment"][name] is None, name
    args = run_args(carnet, "carnet:test", port=5123, named_volumes={}, environment={})
    assert "AWS_SECRET_ACCESS_KEY" in args  # "-e NAME": the value stays in the shell


def test_docker_run_arguments_follow_the_file() -> None:
    service = load({"CARNET_TOKENS_FILE": "/tmp/t.toml"})["services"]["carnet"]
    args = run_args(
        service,
        "carnet:test",
        port=5123,
        named_volumes={"carnet-artifacts": "vol"},
        environment={"CARNET_TRACKING_URI": "postgresql+psycopg://h/db"},
    )
    assert args[args.index("carnet:test") - 2 :] == [
        "--entrypoint", "carnet", "carnet:test",
        "server", "--host", "0.0.0.0", "--port", "5123", "--artifacts", "/artifacts",
    ]  # fmt: skip
    assert "CARNET_TRACKING_URI=postgresql+psycopg://h/db" in args
    assert "vol:/artifacts" in args and f"/tmp/t.toml:{TOKENS}:ro" in args
    assert "http://127.0.0.1:5123/health" in args[args.index("--health-cmd") + 1]
    with pytest.raises(AssertionError, match="sets no"):
        run_args(service, "x", port=1, named_volumes={}, environment={"CARNET_OTHER": "1"})

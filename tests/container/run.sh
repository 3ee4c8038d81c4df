#!/usr/bin/env bash
# Build the Carnet image from ./Dockerfile and check that its containers serve `carnet
# server` -- the demo as the image starts by default, and the team's service of compose.yaml
# on PostgreSQL -- to the real MLflow client, on a machine with no running Docker engine and
# no image registry (CI here). Anyone with Docker Hub just runs:
#     docker build -t carnet . && docker run -p 5000:5000 carnet
#
# What it does, all of it undone on exit:
#   1. installs docker.io and debootstrap with apt when they are missing;
#   2. starts a private dockerd (own socket, data and exec roots, no iptables, no bridge);
#   3. makes a stand-in for python:3.11-slim: Debian bookworm from this machine's own apt
#      mirror (debootstrap), with this machine's apt sources, CA certificates and pip index
#      settings, python3 and a venv on PATH that provides `python` and `pip`; the image is
#      cached as a tarball, so later runs skip this step;
#   4. docker build --network host --build-arg BASE=<stand-in>;
#   5. the demo: docker run --network host with CARNET_PORT set (host networking stands in
#      for -p); checks /health, the dashboard's page at /, that the server is PID 1 as uid
#      10001, the demo store, a run logged and read back by MLflow's client (its artifacts
#      in /data/carnet-artifacts), the_day_has_come, Docker's HEALTHCHECK, and a clean stop;
#      then CARNET_DEMO=0 on an empty store, which must stay empty;
#   6. the team (when CARNET_CONTAINER_POSTGRES_URL names an empty PostgreSQL store): the
#      carnet service of compose.yaml as `docker compose up` would start it (environment,
#      command, artifact volume, tokens mount and health check read from the file by
#      compose_file.py; the store's URI replaced by that one, since no postgres service runs
#      here): without CARNET_TOKENS_FILE MLflow's client logs a run, no demo was run, the
#      artifacts land in the volume; then recreated with a tokens file on the same volume
#      and store, a call without the token is refused and the token reads the first run
#      back and logs another.
#
# Exit codes: 0 passed, 1 failed, 77 cannot run here (not root, no way to get Docker, no
#   MLflow).
# Environment: CARNET_MLFLOW_PYTHON (required: a Python with mlflow installed),
#   CARNET_CONTAINER_POSTGRES_URL (postgresql+psycopg://... reachable from this host; without
#   it step 6 is left out), CARNET_CONTAINER_PYTHON (a Python with PyYAML; default python3),
#   CARNET_CONTAINER_PORT (default 5000, or a free port when that is taken),
#   CARNET_CONTAINER_CACHE (default ~/.cache/carnet-container), CARNET_CONTAINER_KEEP=1
#   (leave the work directory for inspection), CARNET_CONTAINER_REBUILD_BASE=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CARNET_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carnet-container}
image=carnet:container-test
base_tag=carnet-test/python:3.11-slim
experiment=diabetes-elasticnet
mlflow_python=${CARNET_MLFLOW_PYTHON:-}
postgres_url=${CARNET_CONTAINER_POSTGRES_URL:-}
host_python=${CARNET_CONTAINER_PYTHON:-python3}
containers=()
t0=$SECONDS

# fd 3 is the script's own stderr: the EXIT trap may run inside a redirected function call.
exec 3>&2
log() { printf '[container %3ds] %s\n' "$((SECONDS - t0))" "$*" >&3; }
die() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "needs root to start dockerd and run debootstrap"
[[ -n $mlflow_python ]] || skip "CARNET_MLFLOW_PYTHON is not set (a Python with mlflow installed)"
"$mlflow_python" -c 'import mlflow' 2>/dev/null || skip "$mlflow_python cannot import mlflow"
"$host_python" -c 'import yaml' 2>/dev/null \
    || skip "$host_python cannot import yaml (set CARNET_CONTAINER_PYTHON)"

# ---------------------------------------------------------------- 1-3. engine and base
# tools, a private dockerd and the stand-in base image: see engine.sh
source "$here/engine.sh"

# ---------------------------------------------------------------- 4. build
log "docker build --build-arg BASE=$base_tag"
docker build --network host --build-arg "BASE=$base_tag" -t "$image" "$repo" \
    >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; die "docker build failed"; }
grep -E '^Step [0-9]+/' "$work/build.log" | sed 's/^/    /' >&2 || true


# ---------------------------------------------------------------- helpers for 5 and 6
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
port=${CARNET_CONTAINER_PORT:-5000}
if ! port_free "$port"; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log "port ${CARNET_CONTAINER_PORT:-5000} is taken; using $port"
fi
url=http://127.0.0.1:$port

# get URL: prints the answer's status, a space and its body.
get() {
    python3 -c '
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as answer:
        status, body = answer.status, answer.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
sys.stdout.write(f"{status} " + body.decode("utf-8", "replace"))' "$1"
}

# wait_serving CONTAINER: until /health says OK (the container must keep running).
wait_serving() {
    local began=$SECONDS
    for _ in $(seq 240); do
        if [[ $(get "$url/health" 2>/dev/null) == "200 OK" ]]; then
            log "$1 serves: /health says OK after $((SECONDS - began)) s"
            return 0
        fi
        [[ $(docker inspect -f '{{.State.Running}}' "$1") == true ]] || die "$1 exited"
        sleep 1
    done
    die "$1: no OK on /health within 240 s"
}

# wait_healthy CONTAINER: until Docker's health check has a verdict, which must be healthy.
wait_healthy() {
    local status=
    for _ in $(seq 120); do
        status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1")
        [[ $status == starting ]] || break
        sleep 1
    done
    [[ $status == healthy ]] || die "$1: Docker's health check says '$status'"
    log "$1: Docker's health check says healthy"
}

# mlflow_client [VAR=VALUE ...] log EXPERIMENT | check RUN_ID: MLflow's own client against
# the container, in a clean environment; prints the run's id.
mlflow_client() {
    local vars=() out
    while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
    mkdir -p "$work/mlflow-home"
    out=$(cd "$work/mlflow-home" && env -i PATH="$PATH" HOME="$work/mlflow-home" LANG=C.UTF-8 \
        MLFLOW_TRACKING_URI="$url" MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 \
        MLFLOW_HTTP_REQUEST_TIMEOUT=120 MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
        "${vars[@]}" "$mlflow_python" "$here/mlflow_client.py" "$@" 2>&1) \
        || { printf '%s\n' "$out" | tail -30 >&2; die "MLflow's client failed: $*"; }
    log "MLflow's client ($1): $(tail -1 <<<"$out")"
    tail -1 <<<"$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["run_id"])'
}

# artifact_files CONTAINER FOLDER RUN_ID: the run's files under FOLDER in the container.
artifact_files() {
    docker exec "$1" python -c '
import sys
from pathlib import Path
root, run_id = Path(sys.argv[1]), sys.argv[2]
found = [p.relative_to(root) for p in root.rglob("*") if p.is_file() and run_id in p.parts]
print(" ".join(sorted("/".join(p.parts[p.parts.index(run_id) + 1 :]) for p in found)))' "$2" "$3"
}
expected_files="artifacts/blobs/weights.bin artifacts/config.json artifacts/notes/readme.txt"

# ---------------------------------------------------------------- 5. the demo
demo=carnet-demo-$$
containers+=("$demo")
log "docker run $image (the demo) with CARNET_PORT=$port"
docker run -d --name "$demo" --network host -e "CARNET_PORT=$port" "$image" >/dev/null
wait_serving "$demo"

page=$(get "$url/")
[[ $page == "200 "* ]] || die "the dashboard's page answered ${page:0:200}"
grep -qi '<div id="root">' <<<"$page" || die "the page at / is not Streamlit's"
log "the dashboard's page is served at /"

docker exec "$demo" python -c '
uid = next(line.split()[1:] for line in open("/proc/1/status") if line.startswith("Uid:"))
args = open("/proc/1/cmdline", "rb").read().decode().split("\0")
command = " ".join(args).strip()
print(f"    PID 1: uid {uid[0]}, {command}")
assert set(uid) == {"10001"}, uid
assert "server" in args and any(a.endswith("/carnet") for a in args), args
' >&2 || die "PID 1 of the container is not carnet server as uid 10001"

docker exec "$demo" python -c '
import sys
import carnet
runs = carnet.search_runs(experiment_names=[sys.argv[1]], order_by=["metrics.MSE ASC"])
best = runs.iloc[0]
l1, alpha, mse = best["params.l1_ratio"], best["params.alpha"], best["metrics.MSE"]
print(f"    store: {len(runs)} runs; best l1_ratio={l1} alpha={alpha} MSE={mse:.2f}")
assert len(runs) == 330, len(runs)
assert l1 == "1.0" and abs(mse - 2921.77) < 0.01, (l1, mse)
' "$experiment" >&2 || die "the demo experiment is not in the container's store"

run_id=$(mlflow_client log container-check)
docker exec "$demo" python -c '
import sys
import carnet
run = carnet.get_run(sys.argv[1])
assert run.data.params["alpha"] == "0.02" and run.data.metrics["MSE"] == 2921.77, run
' "$run_id" || die "the run MLflow logged is not in /data/carnet.db"
files=$(artifact_files "$demo" /data/carnet-artifacts "$run_id")
[[ $files == "$expected_files" ]] || die "artifacts in /data/carnet-artifacts: '$files'"
log "the run is in /data/carnet.db, its artifacts in /data/carnet-artifacts"

docker exec "$demo" python -m demo.the_day_has_come | sed 's/^/    /' >&2 \
    || die "the-day-has-come could not load the best model in the container"
wait_healthy "$demo"

began=$SECONDS
docker stop -t 30 "$demo" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$demo")
[[ $code != 137 ]] || die "the server ignored SIGTERM and was killed after 30 s"
log "docker stop: the server exited ($code) after $((SECONDS - began)) s"
docker rm "$demo" >/dev/null

# CARNET_DEMO=0: the image serves the store it is given and logs nothing into it.
bare=carnet-bare-$$
containers+=("$bare")
log "docker run $image with CARNET_DEMO=0 on an empty store"
docker run -d --name "$bare" --network host -e "CARNET_PORT=$port" -e CARNET_DEMO=0 \
    -e CARNET_TRACKING_URI=sqlite:////tmp/carnet.db -e CARNET_ARTIFACT_ROOT=/tmp/artifacts \
    "$image" >/dev/null
wait_serving "$bare"
docker exec "$bare" python -c '
import carnet
names = [e.name for e in carnet.search_experiments()]
assert names == ["Default"], names
' || die "CARNET_DEMO=0 still ran the demo"
log "with CARNET_DEMO=0 the store holds only the Default experiment"
docker rm -f "$bare" >/dev/null

# ---------------------------------------------------------------- 6. the team (compose.yaml)
if [[ -z $postgres_url ]]; then
    log "CARNET_CONTAINER_POSTGRES_URL is not set: compose.yaml's carnet service is not run"
    log "PASS"
    exit 0
fi

# start_team NAME [VAR=VALUE ...]: compose.yaml's carnet service with these variables set.
start_team() {
    local name=$1 out
    shift
    out=$("$host_python" "$here/compose_file.py" run-args carnet "$image" "$port" \
        "env:CARNET_TRACKING_URI=$postgres_url" "$@") || die "compose_file.py failed"
    mapfile -t args <<<"$out"
    containers+=("$name")
    log "docker run compose.yaml's carnet service as $name ${*:-(no variables set)}"
    docker run -d --name "$name" --network host "${args[@]}" >/dev/null
    wait_serving "$name"
}

team=carnet-team-$$
start_team "$team"
first_run=$(mlflow_client log team-check)
docker exec "$team" python -c '
import carnet
names = sorted(e.name for e in carnet.search_experiments())
print(f"    experiments in the team store: {names}")
assert names == ["Default", "team-check"], names
' >&2 || die "the team's store holds more than the run MLflow logged (was the demo run?)"
files=$(artifact_files "$team" /artifacts "$first_run")
[[ $files == "$expected_files" ]] || die "artifacts in the volume at /artifacts: '$files'"
log "the run's artifacts are in the carnet-artifacts volume"
wait_healthy "$team"
docker rm -f "$team" >/dev/null

tokens=$work/tokens.toml
token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
printf '[[tokens]]\nname = "ci"\ntoken = "%s"\naccess = "write"\n' "$token" >"$tokens"
chmod 644 "$tokens"
guarded=carnet-team-tokens-$$
start_team "$guarded" "CARNET_TOKENS_FILE=$tokens"
answer=$(get "$url/api/2.0/mlflow/experiments/get-by-name?experiment_name=team-check")
[[ $answer == "401 "* ]] || die "an API call without a token answered ${answer:0:200}"
log "without a token the API answers 401"
mlflow_client "MLFLOW_TRACKING_TOKEN=$token" check "$first_run" >/dev/null
mlflow_client "MLFLOW_TRACKING_TOKEN=$token" log team-check-with-token >/dev/null
log "with the token MLflow's client reads the first run back from the same store and volume"
wait_healthy "$guarded"
log "PASS"

#!/usr/bin/env bash
# Build an image with `carnet models build-docker` and check that it serves the model: on the
# stand-in base image and private dockerd of engine.sh (as run.sh does), on a machine with no
# running Docker engine and no image registry (CI here).
#
#   model_image.sh MODEL_DIR BODY EXPECTED
#
# MODEL_DIR is a logged model's folder, BODY a JSON body for /invocations, EXPECTED the answer
# Carnet gives to it outside the container ({"predictions": [...]}). The script builds the
# image through the CLI (carnet on $CARNET_CONTAINER_PYTHON's path), runs it with host
# networking and CARNET_MODEL_PORT set, and checks /ping, /version, the predictions for BODY,
# a 400 for a body that lacks a column, that the server is PID 1 as uid 10001, Docker's
# HEALTHCHECK, and a clean stop on SIGTERM. Everything is undone on exit.
#
# Exit codes: 0 passed, 1 failed, 77 cannot run here (not root, no way to get Docker).
# Environment: CARNET_CONTAINER_PYTHON (a Python that imports carnet; default python3),
#   CARNET_CONTAINER_PORT, CARNET_CONTAINER_CACHE, CARNET_CONTAINER_KEEP,
#   CARNET_CONTAINER_REBUILD_BASE (as for run.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CARNET_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carnet-container}
image=carnet-model:container-test
base_tag=carnet-test/python:3.11-slim
host_python=${CARNET_CONTAINER_PYTHON:-python3}
containers=()
t0=$SECONDS

exec 3>&2
log() { printf '[model-image %3ds] %s\n' "$((SECONDS - t0))" "$*" >&3; }
die() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }

[[ $# == 3 ]] || { echo "usage: $0 MODEL_DIR BODY EXPECTED" >&2; exit 2; }
model_dir=$1 body=$2 expected=$3
[[ $(id -u) == 0 ]] || skip "needs root to start dockerd and run debootstrap"
"$host_python" -c 'import carnet' 2>/dev/null || die "$host_python cannot import carnet"

source "$here/engine.sh"

# ---------------------------------------------------------------- build through the CLI
# The CLI runs `docker build`: give it this engine's client and socket.
mkdir -p "$work/bin"
ln -s "$docker_bin" "$work/bin/docker"
log "carnet models build-docker -n $image --base-image $base_tag"
PATH="$work/bin:$PATH" DOCKER_HOST="unix://$sock" "$host_python" -m carnet.cli models \
    build-docker -m "$model_dir" -n "$image" --base-image "$base_tag" --network host \
    >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; die "build-docker failed"; }
tail -1 "$work/build.log" | sed 's/^/    /' >&2

# ---------------------------------------------------------------- run and check
port=${CARNET_CONTAINER_PORT:-8080}
if ! python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
url=http://127.0.0.1:$port
served=carnet-model-$$
containers+=("$served")
log "docker run $image with CARNET_MODEL_PORT=$port"
docker run -d --name "$served" --network host -e "CARNET_MODEL_PORT=$port" "$image" >/dev/null

# call METHOD PATH [BODY-FILE]: prints the status, a space and the answer's body.
call() {
    python3 -c '
import sys, urllib.error, urllib.request
data = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
request = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1],
                                 headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=10) as answer:
        status, text = answer.status, answer.read()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read()
sys.stdout.write(f"{status} " + text.decode("utf-8", "replace"))' "$@"
}

for _ in $(seq 120); do
    [[ $(call GET "$url/ping" 2>/dev/null) == "200 "* ]] && break
    [[ $(docker inspect -f '{{.State.Running}}' "$served") == true ]] || die "$served exited"
    sleep 1
done
[[ $(call GET "$url/ping") == "200 "* ]] || die "no 200 on /ping within 120 s"
log "/ping answers 200"
version=$(call GET "$url/version")
[[ $version == "200 "?* ]] || die "/version answered '$version'"
log "/version: ${version#200 }"

answer=$(call POST "$url/invocations" "$body")
[[ $answer == "200 "* ]] || die "/invocations answered ${answer:0:300}"
python3 -c '
import json, math, sys
got, want = json.loads(sys.argv[1])["predictions"], json.load(open(sys.argv[2]))["predictions"]
assert len(got) == len(want) and all(math.isclose(g, w, rel_tol=1e-12) for g, w in zip(got, want)), (got, want)
print(f"    {len(got)} predictions, as outside the container: {got[:3]}")' "${answer#200 }" "$expected" >&2 \
    || die "the container predicts otherwise than Carnet outside it"

python3 -c '
import json, sys
body = json.load(open(sys.argv[1]))
split = body["dataframe_split"]
body["dataframe_split"] = {"columns": split["columns"][1:], "data": [r[1:] for r in split["data"]]}
json.dump(body, open(sys.argv[2], "w"))' "$body" "$work/short.json"
short=$(call POST "$url/invocations" "$work/short.json")
[[ $short == "400 "*INVALID_PARAMETER_VALUE*"lacks required column"* ]] \
    || die "a body without a column answered ${short:0:300}"
log "a body without a column: 400 INVALID_PARAMETER_VALUE"

docker exec "$served" python -c '
uid = next(line.split()[1:] for line in open("/proc/1/status") if line.startswith("Uid:"))
args = open("/proc/1/cmdline", "rb").read().decode().split("\0")
command = " ".join(args).strip()
print(f"    PID 1: uid {uid[0]}, {command}")
assert set(uid) == {"10001"}, uid
assert "serve" in args and any(a.endswith("carnet") for a in args), args
' >&2 || die "PID 1 of the container is not carnet models serve as uid 10001"

status=
for _ in $(seq 120); do
    status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$served")
    [[ $status == starting ]] || break
    sleep 1
done
[[ $status == healthy ]] || die "Docker's health check says '$status'"
log "Docker's health check says healthy"

began=$SECONDS
docker stop -t 30 "$served" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$served")
[[ $code != 137 ]] || die "the server ignored SIGTERM and was killed after 30 s"
log "docker stop: the server exited ($code) after $((SECONDS - began)) s"
log "PASS"

#!/usr/bin/env bash
# Build the Carnet demo image from ./Dockerfile and check that the container serves the
# dashboard and holds the demo store -- on a machine with no running Docker engine and no
# image registry (CI here). Anyone with Docker Hub just runs:
#     docker build -t carnet-demo . && docker run -p 8501:8501 carnet-demo
#
# What it does, all of it undone on exit:
#   1. installs docker.io and debootstrap with apt when they are missing;
#   2. starts a private dockerd (own socket, data and exec roots, no iptables, no bridge);
#   3. makes a stand-in for python:3.11-slim: Debian bookworm from this machine's own apt
#      mirror (debootstrap), with this machine's apt sources, CA certificates and pip index
#      settings, python3 and a venv on PATH that provides `python` and `pip`; the image is
#      cached as a tarball, so later runs skip this step;
#   4. docker build --network host --build-arg BASE=<stand-in>;
#   5. docker run --network host, polls /_stcore/health, fetches the app page and asks the
#      store inside the container for the demo experiment.
#
# Exit codes: 0 passed, 1 failed, 77 cannot run here (not root, no way to get Docker).
# Environment: CARNET_CONTAINER_PORT (default 8501, or a free port when that is taken),
#   CARNET_CONTAINER_CACHE (default ~/.cache/carnet-container), CARNET_CONTAINER_KEEP=1
#   (leave the work directory for inspection), CARNET_CONTAINER_REBUILD_BASE=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CARNET_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carnet-container}
image=carnet-demo:container-test
base_tag=carnet-test/python:3.11-slim
container=carnet-demo-test-$$
experiment=diabetes-elasticnet
t0=$SECONDS

# fd 3 is the script's own stderr: the EXIT trap may run inside a redirected function call.
exec 3>&2
log() { printf '[container %3ds] %s\n' "$((SECONDS - t0))" "$*" >&3; }
die() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "needs root to start dockerd and run debootstrap"

# ---------------------------------------------------------------- 1. tools
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || skip "no dockerd/debootstrap and no apt-get to install them"
    log "installing docker.io and debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 && apt-get install -y -q docker.io debootstrap >&2 \
        || skip "could not install docker.io and debootstrap with apt-get"
fi
# The client that ships with this dockerd speaks its API version.
if [[ -x /usr/bin/docker ]]; then docker_bin=/usr/bin/docker; else docker_bin=$(command -v docker); fi

work=$(mktemp -d /tmp/carnet-container.XXXXXX)
sock=$work/docker.sock
dockerd_pid=
cleanup() {
    local rc=$?
    set +e
    log "cleaning up"
    if [[ -n $dockerd_pid ]]; then
        if "$docker_bin" -H "unix://$sock" inspect "$container" >/dev/null 2>&1; then
            if [[ $rc != 0 ]]; then
                log "container log (tail):"
                "$docker_bin" -H "unix://$sock" logs --tail 40 "$container" >&3 2>&3
            fi
            "$docker_bin" -H "unix://$sock" rm -f "$container" >/dev/null 2>&1
        fi
        log "stopping dockerd"
        kill "$dockerd_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$dockerd_pid" 2>/dev/null
        # containerd and shims it may have left behind name our work dir on their command line.
        for pid in $(pgrep -f -- "$work"); do kill -9 "$pid" 2>/dev/null; done
    fi
    # dockerd unmounts its layers on exit; anything it left under the work dir goes now.
    grep -o " $work[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
    if [[ ${CARNET_CONTAINER_KEEP:-0} == 1 ]]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
    log "cleaned up"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "error: line $LINENO exited $?"' ERR
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 2. dockerd
start_dockerd() {
    local driver=$1
    rm -rf "$work/data" "$work/exec"
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$driver" \
        --data-root="$work/data" --exec-root="$work/exec" --pidfile="$work/docker.pid" \
        -H "unix://$sock" >"$work/dockerd-$driver.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 100); do
        if "$docker_bin" -H "unix://$sock" version >/dev/null 2>&1; then return 0; fi
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 0.3
    done
    kill "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
    dockerd_pid=
    tail -5 "$work/dockerd-$driver.log" >&2
    return 1
}
log "starting a private dockerd"
start_dockerd overlay2 || { log "overlay2 failed; trying vfs"; start_dockerd vfs; } \
    || skip "dockerd does not start on this machine"
docker() { "$docker_bin" -H "unix://$sock" "$@"; }

# ---------------------------------------------------------------- 3. base image
# The cache key covers everything that goes into the base, so a changed mirror, CA or pip
# setting rebuilds it.
mirror=$(python3 "$here/host_config.py" mirror)
python3 "$here/host_config.py" pip-conf >"$work/pip.conf"
key=$( {
    echo "bookworm $mirror v1"
    cat "$work/pip.conf"
    find /usr/local/share/ca-certificates -type f -print0 2>/dev/null | sort -z | xargs -0r cat
    find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -type f \
        \( -name '*.list' -o -name '*.sources' \) -print0 2>/dev/null | sort -z | xargs -0r cat
    true
} | sha256sum | cut -c1-16)
base_tar=$cache/base-$key.tar
mkdir -p "$cache"

if [[ -s $base_tar && ${CARNET_CONTAINER_REBUILD_BASE:-0} != 1 ]]; then
    log "loading the cached base image $(basename "$base_tar")"
    docker load -i "$base_tar" >&2
else
    log "debootstrap bookworm (minbase) from the machine's mirror"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    log "importing the root filesystem"
    tar -C "$work/rootfs" -c . | docker import - carnet-test/rootfs:bookworm >&2
    rm -rf "$work/rootfs"

    ctx=$work/base-context
    mkdir -p "$ctx/apt/sources.list.d" "$ctx/certs"
    [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$ctx/apt/"
    find /etc/apt/sources.list.d -maxdepth 1 -type f \( -name '*.list' -o -name '*.sources' \) \
        -exec cp {} "$ctx/apt/sources.list.d/" \; 2>/dev/null || true
    find /usr/local/share/ca-certificates -type f -name '*.crt' -exec cp {} "$ctx/certs/" \; \
        2>/dev/null || true
    cp "$work/pip.conf" "$ctx/pip.conf"
    {
        echo "FROM carnet-test/rootfs:bookworm"
        echo "COPY apt/ /etc/apt/"
        echo "COPY certs/ /usr/local/share/ca-certificates/"
        echo "COPY pip.conf /etc/pip.conf"
        echo "ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8"
        echo "RUN echo 'Acquire::Check-Valid-Until \"false\";' > /etc/apt/apt.conf.d/99no-valid-until \\"
        echo " && apt-get update -q && apt-get install -y -q --no-install-recommends \\"
        echo "      ca-certificates python3 python3-venv \\"
        echo " && update-ca-certificates && python3 -m venv /usr/local/python \\"
        echo " && /usr/local/python/bin/python -m pip --version \\"
        echo " && apt-get clean && rm -rf /var/lib/apt/lists/*"
        echo "ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\"
        echo "    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1"
        echo 'CMD ["python3"]'
    } >"$ctx/Dockerfile"
    log "configuring the base: apt sources, CA certificates, python3 venv, pip settings"
    docker build --network host -t "$base_tag" "$ctx" >"$work/base-build.log" 2>&1 \
        || { tail -30 "$work/base-build.log" >&2; die "building the base image failed"; }
    docker rmi carnet-test/rootfs:bookworm >/dev/null
    rm -f "$cache"/base-*.tar
    docker save -o "$base_tar.tmp" "$base_tag" && mv "$base_tar.tmp" "$base_tar"
    log "cached the base image as $base_tar"
fi

# ---------------------------------------------------------------- 4. build
log "docker build --build-arg BASE=$base_tag"
docker build --network host --build-arg "BASE=$base_tag" -t "$image" "$repo" \
    >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; die "docker build failed"; }
grep -E '^Step [0-9]+/' "$work/build.log" | sed 's/^/    /' >&2 || true

# ---------------------------------------------------------------- 5. run and check
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
port=${CARNET_CONTAINER_PORT:-8501}
if ! port_free "$port"; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log "port 8501 is taken; using $port"
fi
log "docker run on port $port"
docker run -d --name "$container" --network host -e "CARNET_PORT=$port" "$image" >/dev/null

fetch() { python3 -c 'import sys,urllib.request; r=urllib.request.urlopen(sys.argv[1], timeout=5); sys.stdout.write(r.read().decode("utf-8", "replace"))' "$1"; }
healthy=
for _ in $(seq 120); do
    if [[ $(fetch "http://127.0.0.1:$port/_stcore/health" 2>/dev/null) == ok ]]; then healthy=1; break; fi
    [[ $(docker inspect -f '{{.State.Running}}' "$container") == true ]] || die "the container exited"
    sleep 1
done
[[ -n $healthy ]] || die "no answer on /_stcore/health within 120 s"
log "healthy: /_stcore/health says ok"

page=$(fetch "http://127.0.0.1:$port/") || die "the app page did not answer"
grep -qi '<div id="root">' <<<"$page" || die "the app page is not Streamlit's"
log "the app page answers"

user=$(docker exec "$container" id -u)
[[ $user != 0 ]] || die "the container runs as root"
log "runs as uid $user"

docker exec "$container" python -c '
import sys
import carnet
runs = carnet.search_runs(experiment_names=[sys.argv[1]], order_by=["metrics.MSE ASC"])
best = runs.iloc[0]
l1, alpha, mse = best["params.l1_ratio"], best["params.alpha"], best["metrics.MSE"]
print(f"    store: {len(runs)} runs; best l1_ratio={l1} alpha={alpha} MSE={mse:.2f}")
assert len(runs) == 330, len(runs)
assert l1 == "1.0" and abs(mse - 2921.77) < 0.01, (l1, mse)
' "$experiment" >&2 || die "the demo experiment is not in the container's store"
docker exec "$container" python -m demo.the_day_has_come | sed 's/^/    /' >&2 \
    || die "the-day-has-come could not load the best model in the container"

status=
for _ in $(seq 60); do
    status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$container")
    [[ $status == starting ]] || break
    sleep 1
done
[[ $status == healthy ]] || die "Docker's HEALTHCHECK says '$status'"
log "Docker's HEALTHCHECK says healthy"
log "PASS"

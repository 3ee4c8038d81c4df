# Sourced by run.sh and model_image.sh: the Docker engine and the base image they build on.
#   1. installs docker.io and debootstrap with apt when they are missing;
#   2. starts a private dockerd (own socket, data and exec roots, no iptables, no bridge) and
#      defines `docker` to talk to it; an EXIT trap removes the containers named in
#      $containers, stops the engine and removes the work directory $work;
#   3. loads (or makes, then caches) the stand-in for python:3.11-slim tagged $base_tag.
# The sourcing script defines: here, cache, base_tag, containers=(), log, die and skip.

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
        for c in "${containers[@]}"; do
            "$docker_bin" -H "unix://$sock" inspect "$c" >/dev/null 2>&1 || continue
            if [[ $rc != 0 ]]; then
                log "log of $c (tail):"
                "$docker_bin" -H "unix://$sock" logs --tail 40 "$c" >&3 2>&3
            fi
            "$docker_bin" -H "unix://$sock" rm -f "$c" >/dev/null 2>&1
        done
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

# Compose itself, where this engine has it (Debian's docker.io has not).
if docker compose version >/dev/null 2>&1; then
    docker compose --project-directory "$repo" --file "$repo/compose.yaml" config --quiet \
        || die "docker compose config rejects compose.yaml"
    log "docker compose config accepts compose.yaml"
else
    log "no docker compose here: compose.yaml is read by compose_file.py alone"
fi

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


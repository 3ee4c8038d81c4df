# Carnet's server in an image: MLflow's REST API and the dashboard on one port, with the
# tutorial sweep already logged.
#
#   docker build -t carnet .
#   docker run -p 5000:5000 carnet                        # open http://localhost:5000
#   docker run -p 5000:5000 -v carnet-data:/data carnet   # keep the store in a volume
#   MLFLOW_TRACKING_URI=http://localhost:5000 python train.py   # log to it with mlflow
#
# Port 5000 is MLflow's own server port and `carnet server`'s default, so MLflow clients
# and scripts written for `mlflow server` need only the host name.
#
# The store is /data/carnet.db with its artifacts in /data/carnet-artifacts, served
# through the API. It is made at build time, so the image serves at once; a new named
# volume at /data starts as a copy of it. Every start first re-runs the idempotent demo,
# so an empty bind mount (writable by uid 10001) is filled on first start;
# -e CARNET_DEMO=0 skips it (do that when CARNET_TRACKING_URI points at a team's store).
# -e CARNET_TRACKING_URI=postgresql+psycopg://... serves another store (psycopg is
# installed), -e CARNET_ARTIFACT_ROOT=... keeps artifacts elsewhere, -e CARNET_PORT=...
# listens on another port, -e CARNET_SERVER_TOKENS_FILE=... asks API callers for tokens and
# -e CARNET_UI_PASSWORD=... asks dashboard viewers for a password (docs/server.md).
# compose.yaml runs this image against PostgreSQL for a team.
#
# Plain Dockerfile syntax (no BuildKit features), so any Docker engine builds it.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CARNET_TRACKING_URI=sqlite:////data/carnet.db \
    CARNET_ARTIFACT_ROOT=/data/carnet-artifacts \
    CARNET_PORT=5000 \
    CARNET_DEMO=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

# /data holds the demo store. /artifacts is empty: compose.yaml mounts its artifact volume
# there, and a new volume takes the owner of the folder it is mounted on, so uid 10001 can
# write to it (a volume mounted at /data would start with a copy of the demo instead).
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin carnet \
 && mkdir -p /data /artifacts \
 && chown carnet:carnet /data /artifacts

WORKDIR /app

# Dependencies first, read from pyproject.toml (with the PostgreSQL driver, boto3 for S3
# artifact roots, and the server's faster event loop and parsers), so a code change
# rebuilds from the next layer on; then Carnet itself from this source tree; then the demos.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; o = p['optional-dependencies']; print('\n'.join(p['dependencies'] + o['postgres'] + o['s3'] + o['server']))" > /tmp/requirements.txt \
 && python -m pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY README.md ./
COPY sdk/ sdk/
COPY dashboard/ dashboard/
RUN python -m pip install --no-cache-dir --no-deps . \
 && rm -rf build sdk/*.egg-info

COPY demo/ demo/

USER carnet
RUN python -m demo --quiet

EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CARNET_PORT', '5000') + '/health', timeout=4); sys.exit(r.read() != b'OK')"]

# exec: the server is PID 1 and gets Docker's SIGTERM itself.
CMD ["sh", "-c", "if [ \"$CARNET_DEMO\" != 0 ]; then python -m demo --quiet || exit 1; fi; exec carnet server --host 0.0.0.0 --port \"$CARNET_PORT\" --artifacts \"$CARNET_ARTIFACT_ROOT\""]

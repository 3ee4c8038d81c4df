# Carnet's demo on a server: the tutorial sweep, already logged, in the dashboard.
#
#   docker build -t carnet-demo .
#   docker run -p 8501:8501 carnet-demo                # then open http://localhost:8501
#   docker run -p 8501:8501 -v carnet-data:/data carnet-demo   # keep the store
#
# The store is /data/carnet.db (artifacts beside it in /data/carnet-artifacts), in the
# volume /data. It is made at build time, so the image starts serving at once; a new named
# volume starts as a copy of it. An empty bind mount (writable by uid 10001) is filled on
# first start instead, since every start runs the idempotent demo first. Point the
# dashboard at another store with -e CARNET_TRACKING_URI=...; change the port with
# -e CARNET_PORT=....
#
# Plain Dockerfile syntax (no BuildKit features), so any Docker engine builds it.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CARNET_TRACKING_URI=sqlite:////data/carnet.db \
    CARNET_PORT=8501 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin carnet \
 && mkdir -p /data \
 && chown carnet:carnet /data

WORKDIR /app

# Dependencies first, read from pyproject.toml, so a code change rebuilds from the next
# layer on; then Carnet itself from this source tree; then the demos.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
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
VOLUME ["/data"]

EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CARNET_PORT', '8501') + '/_stcore/health', timeout=4)"]

CMD ["sh", "-c", "python -m demo --quiet && exec carnet ui --host 0.0.0.0 --port \"$CARNET_PORT\""]

ARG BASE=python:3.11-slim
FROM ${BASE}
RUN python -m pip install --no-cache-dir six && python -c "import six; print(six.__version__)"
CMD ["sleep","5"]

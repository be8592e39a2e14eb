# pushwoosh-exporter container image.
#
# Stage "build" turns the checkout into a wheel and installs it, with its dependencies, into
# a virtual environment at /opt/pushwoosh-exporter. The final stage copies only that venv
# onto the same slim Python image (same path of the interpreter, so the venv stays valid):
# no compilers, no wheels, no pip caches, and no pip inside the venv.
#
# Run-time contract (the Helm chart relies on it):
#   - user 65532:65532 (non-root, numeric, so runAsNonRoot can check it);
#   - the config is read from /etc/pushwoosh-exporter/config.yaml (mount it there);
#   - nothing is written except the optional --state.file, which belongs in
#     /var/lib/pushwoosh-exporter (a volume), so a read-only root filesystem works;
#   - port 9877 serves /metrics, /-/healthy and /-/ready.
#
# Build: docker build --build-arg VERSION=$(python -c 'import exporter; print(exporter.__version__)') .
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps everything else out of the context).
COPY pyproject.toml README.md ./
COPY exporter/ exporter/
# The venv is made without pip; the build image's own pip installs into it (--python), so
# the final image carries no installer in the venv. pip compiles the bytecode at install
# time, so the read-only image never needs to write __pycache__.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && python -m venv --without-pip /opt/pushwoosh-exporter \
 && python -m pip --python /opt/pushwoosh-exporter/bin/python install --no-cache-dir /wheels/*.whl

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="pushwoosh-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Pushwoosh Statistics API" \
      org.opencontainers.image.source="https://github.com/pushwoosh-exporter/pushwoosh-exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/pushwoosh-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/pushwoosh-exporter /opt/pushwoosh-exporter
# The one writable place: the state-file folder, owned by the run-time user.
RUN install -d -m 0750 -o 65532 -g 65532 /var/lib/pushwoosh-exporter
VOLUME ["/var/lib/pushwoosh-exporter"]
WORKDIR /var/lib/pushwoosh-exporter
USER 65532:65532
EXPOSE 9877
ENTRYPOINT ["pushwoosh-exporter"]
CMD ["--config.file=/etc/pushwoosh-exporter/config.yaml"]

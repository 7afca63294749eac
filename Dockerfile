# gausspet BIDS App: CPU image on Debian 12 (python3 3.11; apt packages pinned to bookworm's).
#
#   docker build -t gausspet .
#   docker run --rm -v /data:/data:ro -v /out:/out gausspet /data /out participant
#
# Everything the app needs at run time (atlas, ICBM 2009a template from nilearn, deepbet weights,
# default model, BIDS validator) is inside the image; it runs with --network none.
#
# Build arguments:
#   TORCH_WHEEL      path (inside the build context) of a local torch==2.13.0 CPU wheel; when
#                    empty, torch comes from TORCH_INDEX_URL. scripts/container_build.sh uses it.
#   TORCH_INDEX_URL  index for torch (CPU by default; https://download.pytorch.org/whl/cu126 etc.
#                    for a CUDA variant, see docs/installation.md).
#   VERSION, VCS_REF, BUILD_DATE  recorded in the OCI labels; IMAGE_TAG (name:tag of the image)
#                    in GAUSSPET_CONTAINER_TAG, which the app writes to GeneratedBy.Container.
# pip inside the build may be given a CA bundle as the build secret "cacert" (TLS-intercepting
# proxies): --secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt

ARG BASE_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- builder: the virtualenv
FROM ${BASE_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1 \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=180

# torch first, pinned and CPU-only: an unpinned torch would pull a multi-GB CUDA build.
ARG TORCH_WHEEL=""
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN --mount=type=bind,target=/ctx \
    --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    if [ -n "${TORCH_WHEEL}" ]; then \
        pip install "/ctx/${TORCH_WHEEL}"; \
    else \
        pip install --index-url "${TORCH_INDEX_URL}" --extra-index-url https://pypi.org/simple \
            "torch==2.13.0"; \
    fi \
    && python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"

# The dependencies (not the package: its source changes far more often than its dependencies,
# and every layer is a full copy with podman's vfs storage), read from pyproject.toml.
# PIP_CONSTRAINTS: optional pip constraints file in the build context (its name should change
# with its content, as scripts/container_build.sh does, so that the layer cache notices), e.g.
# the `pip freeze` of a tested environment so that the image has exactly the same versions.
ARG PIP_CONSTRAINTS=""
COPY pyproject.toml /tmp/pyproject.toml
RUN --mount=type=bind,target=/ctx \
    --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    echo "torch==$(python -c 'import torch; print(torch.__version__)')" > /tmp/constraints.txt \
    && if [ -n "${PIP_CONSTRAINTS}" ]; then grep -v '^torch==' "/ctx/${PIP_CONSTRAINTS}" >> /tmp/constraints.txt; fi \
    && python -c "import tomllib; print(*tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && pip install --constraint /tmp/constraints.txt -r /tmp/requirements.txt "setuptools>=68" wheel \
    && rm -rf /tmp/pyproject.toml /tmp/constraints.txt /tmp/requirements.txt

# ---------------------------------------------------------------- runtime image
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3=3.11.2-1+b1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --home-dir /home/gausspet --uid 1000 --user-group gausspet \
    && chmod 1777 /home/gausspet

COPY --from=builder /opt/venv /opt/venv

ARG VERSION=0.1.0
ARG IMAGE_TAG=gausspet:${VERSION}
# Threads: one per process by default (fMRIPrep's choice); --omp-nthreads raises it per node.
# HOME is world-writable so that `--user $(id -u):$(id -g)` has a home for caches.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/gausspet \
    MPLCONFIGDIR=/home/gausspet/.config/matplotlib \
    MPLBACKEND=Agg \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=1 \
    NIPYPE_NO_ET=1 \
    NO_ET=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GAUSSPET_CONTAINER_TYPE=docker \
    GAUSSPET_CONTAINER_TAG=${IMAGE_TAG} \
    DENO_NO_UPDATE_CHECK=1

# The package itself (no dependency may be missing: pip check), then warm the caches a first
# run would otherwise build (matplotlib's font list) and prove the offline resources are there:
# the atlas, nilearn's ICBM 2009a template and the validator binary.
# README.md is only the long description (setuptools warns if absent); the image does not need it.
COPY pyproject.toml /tmp/src/
COPY gausspet_bids /tmp/src/gausspet_bids
RUN pip install --no-cache-dir --no-deps --no-build-isolation /tmp/src \
    && rm -rf /tmp/src \
    && pip check \
    && python -c "import matplotlib.pyplot" \
    && python -c "import gausspet_bids.preprocessing.model_grid as g; g.template_t1w(); g.model_grid()" \
    && bids-validator-deno --version \
    && gausspet --version \
    && chmod -R a+rwX /home/gausspet

# Last, so that a new date or revision does not invalidate the layers above.
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="gausspet" \
      org.opencontainers.image.description="GaussPET BIDS App: synthetic FDG-PET from routine MRI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="https://github.com/gausspet/gausspet" \
      org.opencontainers.image.url="https://github.com/gausspet/gausspet" \
      org.opencontainers.image.documentation="https://github.com/gausspet/gausspet/tree/main/docs" \
      org.opencontainers.image.licenses="MIT AND CC-BY-SA-4.0" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

USER 1000:1000
WORKDIR /home/gausspet
ENTRYPOINT ["gausspet"]
CMD ["--help"]

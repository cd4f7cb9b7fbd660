# syntax=docker/dockerfile:1
# Two stages: `build` has the CUDA toolkit and compiles the NMS kernels (C++ and CUDA) into the virtualenv with
# the same script the README's commands run; `runtime` is slim, has no compiler, and runs as a non-root user.
# The GPU comes from the host's NVIDIA runtime; torch's wheels bring their own CUDA libraries.

FROM python:3.11-slim-bookworm AS build
ARG CUDA_VERSION=13-0
ARG TORCH_CUDA_ARCH_LIST="8.0;9.0"
ARG FETCH_WEIGHTS=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential ca-certificates curl git \
 && curl -fsSL -o /tmp/cuda-keyring.deb \
      https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb \
 && dpkg -i /tmp/cuda-keyring.deb && apt-get update \
 && apt-get install -y --no-install-recommends cuda-toolkit-${CUDA_VERSION} \
 && rm -rf /var/lib/apt/lists/*
ENV CUDA_HOME=/usr/local/cuda TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST} VISIONQ_SKIP_APT=1 WITH_BROWSER=0
WORKDIR /app
COPY . .
RUN bash scripts/setup.sh
# Official checkpoints (torchvision COCO detectors, ...) where the build has a network; demo weights ship anyway.
RUN if [ "$FETCH_WEIGHTS" = 1 ]; then .venv/bin/visionq weights fetch detection --dest /app/weights || true; fi \
 && mkdir -p /app/weights

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --create-home --uid 10001 visionq
WORKDIR /app
COPY --from=build --chown=visionq:visionq /app /app
ENV PATH=/app/.venv/bin:$PATH VISIONQ_WEIGHTS_DIR=/app/weights PYTHONUNBUFFERED=1
USER visionq
EXPOSE 8000 8501
CMD ["visionq", "gateway", "--host", "0.0.0.0", "--port", "8000"]

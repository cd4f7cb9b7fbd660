#!/usr/bin/env bash
# Prepares a fresh machine (Debian, Python 3.11) for visionq: system packages, a virtualenv with the pinned
# dependencies, and the compiled NMS kernels (C++ always; CUDA too where nvcc exists). Safe to re-run: each
# step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
WITH_BROWSER=${WITH_BROWSER:-1}   # chromium is needed by the browser tests only

need_apt=()
[ "${VISIONQ_SKIP_APT:-0}" = 1 ] || command -v redis-server >/dev/null || need_apt+=(redis-server)
if [ "$WITH_BROWSER" = 1 ] && [ "${VISIONQ_SKIP_APT:-0}" != 1 ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
  command -v docker-compose >/dev/null || need_apt+=(docker-compose)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# CUDA kernels compile wherever nvcc exists, even without a GPU (sm_80 = A100, sm_90 = H100).
if [ -z "${CUDA_HOME:-}" ]; then
  for dir in /usr/local/cuda /usr/local/cuda-13.0; do
    [ -x "$dir/bin/nvcc" ] && export CUDA_HOME="$dir" && break
  done
fi
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-"8.0;9.0"}
export MAX_JOBS=${MAX_JOBS:-2}

stamp="$VENV/.visionq-installed"
inputs=$( { ls pyproject.toml setup.py 2>/dev/null || true; find kernels/csrc -type f 2>/dev/null | sort || true; } \
  | xargs cat | sha256sum | cut -c1-16 )
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ]; then
  echo "setup: installing dependencies and building kernels (CUDA_HOME=${CUDA_HOME:-none})"
  "$VENV/bin/pip" install -q --disable-pip-version-check "setuptools==84.2.1" "wheel==0.48.0"
  # The kernel build runs setup.py without build isolation, so torch (and ninja) must be in the venv first;
  # their pins are read from pyproject.toml so there is one place to change them.
  build_pins=$("$VENV/bin/python" - <<'PY'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
pins = project["dependencies"] + project["optional-dependencies"]["dev"]
print(" ".join(p for p in pins if re.match(r"(torch|numpy|ninja)==", p)))
PY
)
  "$VENV/bin/pip" install -q --disable-pip-version-check $build_pins
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation -e ".[dev]"
  echo "$inputs" > "$stamp"
fi
"$VENV/bin/python" -c "import kernels" 2>/dev/null && echo "setup: kernels OK" || echo "setup: kernels not built"

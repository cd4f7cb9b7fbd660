"""Builds kernels._C, the visionq NMS ops (C++ CPU kernels, plus CUDA kernels wherever nvcc can build them).

Project metadata lives in pyproject.toml; this file only adds the extension. Build in place with

    CUDA_HOME=/usr/local/cuda-13.0 TORCH_CUDA_ARCH_LIST="8.0;9.0" MAX_JOBS=2 \
        pip install --no-build-isolation --no-deps -e .

The CUDA sources are compiled whenever torch is a CUDA build and nvcc exists ($CUDA_HOME/bin/nvcc, else nvcc on
PATH or /usr/local/cuda*/bin/nvcc), whether or not the build machine has a GPU (as torchvision's setup.py does
with FORCE_CUDA). VISIONQ_BUILD_CUDA=0 forces a C++-only build; VISIONQ_BUILD_CUDA=1 fails loudly if CUDA
cannot be built.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
CSRC = Path("kernels") / "csrc"

# Bit-exact agreement with torchvision needs the IoU evaluated as written: no fused multiply-add contraction
# (GCC contracts by default when the target has FMA) and no fast-math reassociation.
CXX_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno"]
NVCC_FLAGS = ["-O3", "--fmad=false", "--expt-relaxed-constexpr"]
# Ampere (sm_80) and Hopper (sm_90), the minimum; override with TORCH_CUDA_ARCH_LIST.
DEFAULT_CUDA_ARCHS = "8.0;9.0"


def _sources(pattern: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / CSRC).glob(pattern))


def _locate_cuda_home() -> None:
    """Sets CUDA_HOME when unset and a toolkit is on PATH or under /usr/local (torch would guess /usr/local/cuda)."""
    if os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH"):
        return
    nvcc = shutil.which("nvcc")
    candidates = [Path(nvcc).resolve().parent.parent] if nvcc else []
    candidates += sorted(Path("/usr/local").glob("cuda*"), reverse=True)
    for home in candidates:
        if (home / "bin" / "nvcc").is_file():
            os.environ["CUDA_HOME"] = str(home)
            return


def _cuda_wanted() -> bool:
    import torch
    from torch.utils.cpp_extension import CUDA_HOME

    setting = os.environ.get("VISIONQ_BUILD_CUDA", "auto")
    if setting == "0":
        return False
    nvcc = Path(CUDA_HOME or "") / "bin" / "nvcc"
    available = torch.version.cuda is not None and CUDA_HOME is not None and nvcc.is_file()
    if setting == "1" and not available:
        raise RuntimeError(
            f"VISIONQ_BUILD_CUDA=1 but CUDA cannot be built: torch.version.cuda={torch.version.cuda}, "
            f"nvcc={nvcc} (set CUDA_HOME to the toolkit root)"
        )
    return available


def _use_ninja_from_venv() -> None:
    """pip does not put the environment's bin/ on PATH; torch only uses ninja if it finds it there."""
    bin_dir = str(Path(sys.executable).parent)
    if (Path(bin_dir) / "ninja").exists() and bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def make_extensions() -> tuple[list[object], dict[str, type]]:
    _use_ninja_from_venv()
    _locate_cuda_home()  # before torch.utils.cpp_extension reads CUDA_HOME at import
    from torch.utils.cpp_extension import BuildExtension, CppExtension, CUDAExtension

    sources = _sources("*.cpp") + _sources("cpu/*.cpp")
    if _cuda_wanted():
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", DEFAULT_CUDA_ARCHS)
        extension = CUDAExtension(
            "kernels._C",
            # cuda/*.cu hold the kernels (nvcc, no ATen headers); cuda/*.cpp their ATen host side (host compiler).
            sources + _sources("cuda/*.cu") + _sources("cuda/*.cpp"),
            extra_compile_args={"cxx": CXX_FLAGS, "nvcc": NVCC_FLAGS},
            define_macros=[("VISIONQ_WITH_CUDA", "1")],
        )
    else:
        extension = CppExtension("kernels._C", sources, extra_compile_args={"cxx": CXX_FLAGS})
    return [extension], {"build_ext": BuildExtension.with_options(no_python_abi_suffix=False)}


ext_modules, cmdclass = make_extensions()
setup(ext_modules=ext_modules, cmdclass=cmdclass)

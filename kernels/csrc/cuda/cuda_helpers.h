// Launch geometry shared by the CUDA kernels. Torch-free, so the .cu files compile without ATen headers.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../common/macros.h"

namespace visionq::ops::cuda {

// Threads per block of the one-dimensional kernels (one thread per box or per pair).
constexpr int kThreadsPerBlock = 256;
// Threads of the single-block greedy reduction: one per later column block, looping when there are more.
constexpr int kReduceThreads = 256;
// Grid-stride kernels launch at most this many blocks.
constexpr int64_t kMaxBlocks = 4096;
// gridDim.y limit, which bounds the mask kernel's column blocks.
constexpr int64_t kMaxGridY = 65535;

inline int64_t blocks_for(int64_t work) {
  return std::clamp<int64_t>(detail::ceil_div(work, kThreadsPerBlock), 1, kMaxBlocks);
}

} // namespace visionq::ops::cuda

// Portability macros for code compiled both by the host compiler and by nvcc.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define VISIONQ_HD __host__ __device__ __forceinline__
#else
#define VISIONQ_HD inline
#endif

namespace visionq::ops::detail {

// One suppression word: bit t set means "box t of the column block is suppressed by this row's box".
using mask_t = unsigned long long;

// Boxes per mask word, and so threads per block of the mask kernel (torchvision cuda/nms_kernel.cu).
constexpr int kBoxesPerWord = 64;

VISIONQ_HD int count_trailing_zeros(mask_t word) {
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(word)) - 1;
#else
  return __builtin_ctzll(word);
#endif
}

VISIONQ_HD int64_t ceil_div(int64_t n, int64_t d) {
  return (n + d - 1) / d;
}

} // namespace visionq::ops::detail

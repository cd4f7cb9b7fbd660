// Kernels of hard NMS, batched NMS, DIoU-NMS, merge-NMS and and-NMS. The per-thread work is in
// common/nms_grid.h and the host pipeline in common/nms_flow.h, both shared with the CPU harness:
//   1. sort by (class, decreasing score) and gather (ATen, in cuda/ops.cpp);
//   2. nms_mask_kernel: the upper triangle of 64 x 64 blocks, one 64-bit suppression word per (box, block);
//   3. nms_reduce_kernel: the greedy pass over the mask on the device, in one block (no mask copy to the host);
//   4. merge / and only: nms_assign_kernel (each box's first kept suppressor), then one thread per kept box.
// Classes are handled inside the mask kernel (boxes of different classes never suppress each other).
#include "cuda_helpers.h"
#include "launchers.h"

namespace visionq::ops::cuda {

namespace {

using detail::kBoxesPerWord;
using detail::mask_t;

template <typename T>
__global__ void nms_mask_kernel(
    int64_t n,
    int64_t col_blocks,
    const T* boxes,
    const int64_t* labels,
    detail::Criterion criterion,
    T threshold,
    mask_t* mask) {
  const int64_t row_block = blockIdx.y;
  const int64_t col_block = blockIdx.x;
  if (row_block > col_block) {
    return;
  }
  __shared__ T tile[kBoxesPerWord * 4];
  const int64_t col_start = col_block * kBoxesPerWord;
  if (col_start + threadIdx.x < n) {
    for (int d = 0; d < 4; ++d) {
      tile[threadIdx.x * 4 + d] = boxes[(col_start + threadIdx.x) * 4 + d];
    }
  }
  __syncthreads();
  const int64_t i = row_block * kBoxesPerWord + threadIdx.x;
  if (i < n) {
    mask[i * col_blocks + col_block] =
        detail::mask_word(n, row_block, col_block, threadIdx.x, boxes, tile, labels, criterion, threshold);
  }
}

__global__ void nms_reduce_kernel(int64_t n, int64_t col_blocks, const mask_t* mask, mask_t* removed, mask_t* keep_words) {
  __shared__ mask_t kept;
  for (int64_t b = 0; b < col_blocks; ++b) {
    if (threadIdx.x == 0) {
      kept = detail::reduce_resolve_block(b, n, col_blocks, mask, removed);
      keep_words[b] = kept;
    }
    __syncthreads();
    const mask_t block_kept = kept;
    for (int64_t c = b + 1 + threadIdx.x; c < col_blocks; c += blockDim.x) {
      detail::reduce_propagate(b, block_kept, c, col_blocks, mask, removed);
    }
    __syncthreads(); // removed[b + 1] is final before thread 0 resolves block b + 1
  }
}

__global__ void nms_assign_kernel(int64_t n, int64_t col_blocks, const mask_t* mask, const mask_t* keep_words, int64_t* out) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < n; j += int64_t(gridDim.x) * blockDim.x) {
    out[j] = detail::first_suppressor(j, col_blocks, mask, keep_words);
  }
}

template <typename T>
__global__ void nms_merge_kernel(
    int64_t num_kept,
    const int64_t* kept,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const T* scores,
    T* out) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < num_kept; t += int64_t(gridDim.x) * blockDim.x) {
    detail::merge_cluster(kept[t], n, assign, boxes, scores, out + t * 4);
  }
}

template <typename T>
__global__ void nms_and_kernel(
    int64_t num_kept,
    const int64_t* kept,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const int64_t* labels,
    T overlap_threshold,
    uint8_t* out) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < num_kept; t += int64_t(gridDim.x) * blockDim.x) {
    out[t] = detail::and_has_overlap(kept[t], n, assign, boxes, labels, overlap_threshold);
  }
}

} // namespace

template <typename T>
cudaError_t launch_nms_mask(
    int64_t n,
    int64_t col_blocks,
    const T* boxes,
    const int64_t* labels,
    detail::Criterion criterion,
    T threshold,
    mask_t* mask,
    cudaStream_t stream) {
  const dim3 blocks(static_cast<unsigned>(col_blocks), static_cast<unsigned>(col_blocks));
  nms_mask_kernel<T><<<blocks, kBoxesPerWord, 0, stream>>>(n, col_blocks, boxes, labels, criterion, threshold, mask);
  return cudaGetLastError();
}

cudaError_t launch_nms_reduce(
    int64_t n,
    int64_t col_blocks,
    const mask_t* mask,
    mask_t* removed,
    mask_t* keep_words,
    cudaStream_t stream) {
  nms_reduce_kernel<<<1, kReduceThreads, 0, stream>>>(n, col_blocks, mask, removed, keep_words);
  return cudaGetLastError();
}

cudaError_t launch_nms_assign(
    int64_t n,
    int64_t col_blocks,
    const mask_t* mask,
    const mask_t* keep_words,
    int64_t* assign,
    cudaStream_t stream) {
  nms_assign_kernel<<<blocks_for(n), kThreadsPerBlock, 0, stream>>>(n, col_blocks, mask, keep_words, assign);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_nms_merge(
    int64_t num_kept,
    const int64_t* kept,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const T* scores,
    T* out,
    cudaStream_t stream) {
  nms_merge_kernel<T><<<blocks_for(num_kept), kThreadsPerBlock, 0, stream>>>(num_kept, kept, n, assign, boxes, scores, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_nms_and(
    int64_t num_kept,
    const int64_t* kept,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const int64_t* labels,
    T overlap_threshold,
    uint8_t* out,
    cudaStream_t stream) {
  nms_and_kernel<T><<<blocks_for(num_kept), kThreadsPerBlock, 0, stream>>>(
      num_kept, kept, n, assign, boxes, labels, overlap_threshold, out);
  return cudaGetLastError();
}

#define VISIONQ_INSTANTIATE_NMS(T)                                                                                  \
  template cudaError_t launch_nms_mask<T>(                                                                          \
      int64_t, int64_t, const T*, const int64_t*, detail::Criterion, T, mask_t*, cudaStream_t);                     \
  template cudaError_t launch_nms_merge<T>(                                                                         \
      int64_t, const int64_t*, int64_t, const int64_t*, const T*, const T*, T*, cudaStream_t);                      \
  template cudaError_t launch_nms_and<T>(                                                                           \
      int64_t, const int64_t*, int64_t, const int64_t*, const T*, const int64_t*, T, uint8_t*, cudaStream_t);

VISIONQ_INSTANTIATE_NMS(float)
VISIONQ_INSTANTIATE_NMS(double)

} // namespace visionq::ops::cuda

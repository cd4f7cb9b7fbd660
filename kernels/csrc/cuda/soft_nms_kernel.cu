// Soft-NMS kernel: one block per class segment of the sorted boxes, looping "select the best alive box, decay
// the others" inside the block. The per-thread steps are in common/nms_grid.h (shared with the CPU harness
// visionq::_soft_nms_cpu_harness), the host pipeline in common/nms_flow.h.
#include "cuda_helpers.h"
#include "launchers.h"

namespace visionq::ops::cuda {

namespace {

using detail::kSoftThreads;

template <typename T>
__global__ void soft_nms_kernel(
    const int64_t* begins,
    const int64_t* ends,
    const T* boxes,
    T* current,
    uint8_t* alive,
    detail::SoftParams<T> params,
    int64_t* out_pos,
    T* out_score,
    uint8_t* out_used) {
  __shared__ T best_score[kSoftThreads];
  __shared__ int64_t best_pos[kSoftThreads];
  const int tid = threadIdx.x;
  const int64_t begin = begins[blockIdx.x];
  const int64_t end = ends[blockIdx.x];
  detail::soft_thread_init(begin, end, tid, kSoftThreads, current, alive, params);
  __syncthreads();
  for (int64_t count = 0;; ++count) {
    const auto mine = detail::soft_thread_best(begin, end, tid, kSoftThreads, current, alive);
    best_score[tid] = mine.score;
    best_pos[tid] = mine.pos;
    __syncthreads();
    for (int stride = kSoftThreads / 2; stride > 0; stride /= 2) {
      if (tid < stride) {
        const auto winner = detail::soft_better(
            detail::SoftBest<T>{best_score[tid], best_pos[tid]},
            detail::SoftBest<T>{best_score[tid + stride], best_pos[tid + stride]});
        best_score[tid] = winner.score;
        best_pos[tid] = winner.pos;
      }
      __syncthreads();
    }
    const detail::SoftBest<T> best{best_score[0], best_pos[0]};
    __syncthreads(); // every thread has read the winner before the next step overwrites it
    if (best.pos < 0) {
      break;
    }
    if (tid == 0) {
      out_pos[begin + count] = best.pos;
      out_score[begin + count] = best.score;
      out_used[begin + count] = 1;
      alive[best.pos] = 0;
    }
    __syncthreads();
    detail::soft_thread_decay(begin, end, tid, kSoftThreads, best.pos, boxes, current, alive, params);
    __syncthreads();
  }
}

} // namespace

template <typename T>
cudaError_t launch_soft_nms(
    int64_t segments,
    const int64_t* begins,
    const int64_t* ends,
    const T* boxes,
    T* current,
    uint8_t* alive,
    const detail::SoftParams<T>& params,
    int64_t* out_pos,
    T* out_score,
    uint8_t* out_used,
    cudaStream_t stream) {
  soft_nms_kernel<T><<<static_cast<unsigned>(segments), kSoftThreads, 0, stream>>>(
      begins, ends, boxes, current, alive, params, out_pos, out_score, out_used);
  return cudaGetLastError();
}

#define VISIONQ_INSTANTIATE_SOFT(T)                                                                                 \
  template cudaError_t launch_soft_nms<T>(                                                                          \
      int64_t,                                                                                                      \
      const int64_t*,                                                                                               \
      const int64_t*,                                                                                               \
      const T*,                                                                                                     \
      T*,                                                                                                           \
      uint8_t*,                                                                                                     \
      const detail::SoftParams<T>&,                                                                                 \
      int64_t*,                                                                                                     \
      T*,                                                                                                           \
      uint8_t*,                                                                                                     \
      cudaStream_t);

VISIONQ_INSTANTIATE_SOFT(float)
VISIONQ_INSTANTIATE_SOFT(double)

} // namespace visionq::ops::cuda

// Pairwise IoU / GIoU / DIoU / CIoU kernel: one thread per pair, the seed's bbox_iou of common/box_math.h
// (the CPU kernel evaluates the same function).
#include "cuda_helpers.h"
#include "launchers.h"

namespace visionq::ops::cuda {

namespace {

template <typename T>
__global__ void pairwise_iou_kernel(const T* a, int64_t n, const T* b, int64_t m, detail::IoUKind kind, T eps, T* out) {
  const int64_t pairs = n * m;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < pairs; t += int64_t(gridDim.x) * blockDim.x) {
    const T* p = a + 4 * (t / m);
    const T* q = b + 4 * (t % m);
    out[t] = detail::seed_iou(kind, eps, p[0], p[1], p[2], p[3], q[0], q[1], q[2], q[3]);
  }
}

} // namespace

template <typename T>
cudaError_t launch_pairwise_iou(
    const T* a,
    int64_t n,
    const T* b,
    int64_t m,
    detail::IoUKind kind,
    T eps,
    T* out,
    cudaStream_t stream) {
  pairwise_iou_kernel<T><<<blocks_for(n * m), kThreadsPerBlock, 0, stream>>>(a, n, b, m, kind, eps, out);
  return cudaGetLastError();
}

template cudaError_t launch_pairwise_iou<float>(
    const float*, int64_t, const float*, int64_t, detail::IoUKind, float, float*, cudaStream_t);
template cudaError_t launch_pairwise_iou<double>(
    const double*, int64_t, const double*, int64_t, detail::IoUKind, double, double*, cudaStream_t);

} // namespace visionq::ops::cuda

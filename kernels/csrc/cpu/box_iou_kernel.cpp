// Pairwise IoU / GIoU / DIoU / CIoU on the CPU: the seed's bbox_iou (common/box_math.h seed_iou) per pair,
// rows spread over threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <string_view>

#include "../common/box_math.h"
#include "../common/checks.h"

namespace visionq::ops {

namespace {

// Pairs per parallel chunk: below this a matrix is filled on one thread.
constexpr int64_t kPairsPerTask = 16384;

template <typename T>
void pairwise_iou_impl(const T* a, int64_t n, const T* b, int64_t m, detail::IoUKind kind, T eps, T* out) {
  const int64_t grain = std::max<int64_t>(1, kPairsPerTask / std::max<int64_t>(m, 1));
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* p = a + 4 * i;
      for (int64_t j = 0; j < m; ++j) {
        const T* q = b + 4 * j;
        out[i * m + j] = detail::seed_iou(kind, eps, p[0], p[1], p[2], p[3], q[0], q[1], q[2], q[3]);
      }
    }
  });
}

at::Tensor pairwise_iou_kernel(const at::Tensor& boxes1, const at::Tensor& boxes2, std::string_view kind, double eps) {
  detail::check_pairwise(boxes1, boxes2, "pairwise_iou");
  const auto k = static_cast<detail::IoUKind>(detail::iou_kind_from_name(kind));
  const auto a = detail::compute_dtype(boxes1);
  const auto b = detail::compute_dtype(boxes2);
  auto out = at::empty({a.size(0), b.size(0)}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "pairwise_iou", [&] {
    pairwise_iou_impl<scalar_t>(
        a.data_ptr<scalar_t>(), a.size(0), b.data_ptr<scalar_t>(), b.size(0), k, static_cast<scalar_t>(eps),
        out.data_ptr<scalar_t>());
  });
  return out.to(boxes1.scalar_type());
}

} // namespace

TORCH_LIBRARY_IMPL(visionq, CPU, m) {
  m.impl("pairwise_iou", TORCH_FN(pairwise_iou_kernel));
}

} // namespace visionq::ops

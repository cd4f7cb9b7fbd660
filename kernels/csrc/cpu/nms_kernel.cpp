// Hard NMS and class-aware batched NMS on the CPU. See greedy.h for the algorithm and why it keeps exactly
// torchvision's boxes.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "../common/box_math.h"
#include "../common/checks.h"
#include "greedy.h"
#include "layout.h"

namespace visionq::ops {

namespace {

// Do two kept boxes (listed by decreasing score) share a score? NaNs count as equal, as torch.sort groups them.
template <typename T>
bool has_tied_scores(const at::Tensor& kept, const T* scores) {
  const int64_t* k = kept.data_ptr<int64_t>();
  for (int64_t i = 1; i < kept.size(0); ++i) {
    const T a = scores[k[i - 1]], b = scores[k[i]];
    if (a == b || (a != a && b != b)) {
      return true;
    }
  }
  return false;
}

// torchvision's _batched_nms_vanilla order: the kept indices in increasing order, then
// scores[kept].sort(descending=True), an unstable sort whose order of tied scores we can only get by calling it.
template <typename T>
at::Tensor torchvision_order(const cpu::SortedLayout<T>& layout, const std::vector<uint8_t>& keep, const at::Tensor& scores) {
  const int64_t n = static_cast<int64_t>(keep.size());
  std::vector<uint8_t> kept_index(n, 0);
  int64_t count = 0;
  for (int64_t p = 0; p < n; ++p) {
    if (keep[p]) {
      kept_index[layout.index(p)] = 1;
      ++count;
    }
  }
  auto ascending = at::empty({count}, scores.options().dtype(at::kLong));
  int64_t* out = ascending.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (kept_index[i]) {
      *out++ = i;
    }
  }
  const auto by_score = std::get<1>(scores.index_select(0, ascending).sort(/*dim=*/0, /*descending=*/true));
  return ascending.index_select(0, by_score);
}

template <typename T>
at::Tensor nms_kernel_impl(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& labels,
    double iou_threshold,
    bool torchvision_tie_order) {
  const int64_t n = dets.size(0);
  const int64_t* label_ptr = labels.defined() ? labels.data_ptr<int64_t>() : nullptr;
  const auto layout = cpu::make_layout<T>(dets.data_ptr<T>(), scores.data_ptr<T>(), label_ptr, n);
  const T threshold = detail::round_down_threshold<T>(iou_threshold);
  std::vector<uint8_t> keep(n, 0);
  cpu::for_each_run(layout, [&](int64_t r) {
    cpu::greedy_hard_nms<T>(layout.run(r), threshold, keep.data() + layout.segments[r]);
  });
  auto kept = cpu::kept_indices(layout, keep, nullptr);
  if (torchvision_tie_order && has_tied_scores(kept, scores.data_ptr<T>())) {
    return torchvision_order(layout, keep, scores);
  }
  return kept;
}

at::Tensor run_nms(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& labels,
    double iou_threshold,
    bool torchvision_tie_order) {
  if (dets.size(0) == 0) {
    return at::empty({0}, dets.options().dtype(at::kLong));
  }
  const auto boxes = detail::compute_dtype(dets);
  const auto values = detail::compute_dtype(scores);
  at::Tensor result;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "nms_kernel", [&] {
    result = nms_kernel_impl<scalar_t>(boxes, values, labels, iou_threshold, torchvision_tie_order);
  });
  return result;
}

at::Tensor nms_kernel(const at::Tensor& dets, const at::Tensor& scores, double iou_threshold) {
  detail::check_boxes_and_scores(dets, scores, "nms");
  return run_nms(dets, scores, at::Tensor(), iou_threshold, false);
}

at::Tensor batched_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& idxs,
    double iou_threshold,
    bool torchvision_tie_order) {
  detail::check_boxes_and_scores(dets, scores, "batched_nms");
  detail::check_idxs(dets, idxs, "batched_nms");
  return run_nms(dets, scores, idxs.to(at::kLong).contiguous(), iou_threshold, torchvision_tie_order);
}

} // namespace

TORCH_LIBRARY_IMPL(visionq, CPU, m) {
  m.impl("nms", TORCH_FN(nms_kernel));
  m.impl("batched_nms", TORCH_FN(batched_nms_kernel));
}

} // namespace visionq::ops

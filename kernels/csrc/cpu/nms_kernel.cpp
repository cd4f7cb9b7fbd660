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

template <typename T>
at::Tensor nms_kernel_impl(const at::Tensor& dets, const at::Tensor& scores, const at::Tensor& labels, double iou_threshold) {
  const int64_t n = dets.size(0);
  const int64_t* label_ptr = labels.defined() ? labels.data_ptr<int64_t>() : nullptr;
  const auto layout = cpu::make_layout<T>(dets.data_ptr<T>(), scores.data_ptr<T>(), label_ptr, n);
  const T threshold = detail::round_down_threshold<T>(iou_threshold);
  std::vector<uint8_t> keep(n, 0);
  cpu::for_each_run(layout, [&](int64_t r) {
    cpu::greedy_hard_nms<T>(layout.run(r), threshold, keep.data() + layout.segments[r]);
  });
  return cpu::kept_indices(layout, keep, nullptr);
}

at::Tensor run_nms(const at::Tensor& dets, const at::Tensor& scores, const at::Tensor& labels, double iou_threshold) {
  if (dets.size(0) == 0) {
    return at::empty({0}, dets.options().dtype(at::kLong));
  }
  const auto boxes = detail::compute_dtype(dets);
  const auto values = detail::compute_dtype(scores);
  at::Tensor result;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "nms_kernel", [&] {
    result = nms_kernel_impl<scalar_t>(boxes, values, labels, iou_threshold);
  });
  return result;
}

at::Tensor nms_kernel(const at::Tensor& dets, const at::Tensor& scores, double iou_threshold) {
  detail::check_boxes_and_scores(dets, scores, "nms");
  return run_nms(dets, scores, at::Tensor(), iou_threshold);
}

at::Tensor batched_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& idxs,
    double iou_threshold) {
  detail::check_boxes_and_scores(dets, scores, "batched_nms");
  detail::check_idxs(dets, idxs, "batched_nms");
  return run_nms(dets, scores, idxs.to(at::kLong).contiguous(), iou_threshold);
}

} // namespace

TORCH_LIBRARY_IMPL(visionq, CPU, m) {
  m.impl("nms", TORCH_FN(nms_kernel));
  m.impl("batched_nms", TORCH_FN(batched_nms_kernel));
}

} // namespace visionq::ops

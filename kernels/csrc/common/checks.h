// Input checks shared by every backend, so CPU, CUDA and the CPU harness reject bad input with one message.
// kernels/_ops.py repeats them in the fake kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include <string_view>

namespace visionq::ops::detail {

inline void check_boxes_and_scores(const at::Tensor& dets, const at::Tensor& scores, const char* op) {
  TORCH_CHECK(dets.dim() == 2, op, ": boxes should be a 2d tensor, got ", dets.dim(), "D");
  TORCH_CHECK(dets.size(1) == 4, op, ": boxes should have 4 elements in dimension 1, got ", dets.size(1));
  TORCH_CHECK(scores.dim() == 1, op, ": scores should be a 1d tensor, got ", scores.dim(), "D");
  TORCH_CHECK(
      dets.size(0) == scores.size(0),
      op,
      ": boxes and scores should have the same number of elements in dimension 0, got ",
      dets.size(0),
      " and ",
      scores.size(0));
  TORCH_CHECK(
      dets.device() == scores.device(),
      op,
      ": boxes and scores should be on the same device, got ",
      dets.device(),
      " and ",
      scores.device());
  TORCH_CHECK(
      at::isFloatingType(dets.scalar_type()),
      op,
      ": boxes should be a floating point tensor (float16, bfloat16, float32 or float64), got ",
      dets.scalar_type());
  TORCH_CHECK(
      dets.scalar_type() == scores.scalar_type(),
      op,
      ": boxes and scores should have the same dtype, got ",
      dets.scalar_type(),
      " and ",
      scores.scalar_type());
}

inline void check_idxs(const at::Tensor& dets, const at::Tensor& idxs, const char* op) {
  TORCH_CHECK(idxs.dim() == 1, op, ": idxs should be a 1d tensor, got ", idxs.dim(), "D");
  TORCH_CHECK(
      idxs.size(0) == dets.size(0),
      op,
      ": boxes and idxs should have the same number of elements in dimension 0, got ",
      dets.size(0),
      " and ",
      idxs.size(0));
  TORCH_CHECK(
      idxs.device() == dets.device(),
      op,
      ": boxes and idxs should be on the same device, got ",
      dets.device(),
      " and ",
      idxs.device());
  TORCH_CHECK(
      at::isIntegralType(idxs.scalar_type(), /*includeBool=*/false),
      op,
      ": idxs should be an integer tensor, got ",
      idxs.scalar_type());
}

inline void check_optional_idxs(const at::Tensor& dets, const std::optional<at::Tensor>& idxs, const char* op) {
  if (idxs.has_value()) {
    check_idxs(dets, *idxs, op);
  }
}

inline void check_pairwise(const at::Tensor& boxes1, const at::Tensor& boxes2, const char* op) {
  TORCH_CHECK(boxes1.dim() == 2 && boxes1.size(1) == 4, op, ": boxes1 should have shape [N, 4], got ", boxes1.sizes());
  TORCH_CHECK(boxes2.dim() == 2 && boxes2.size(1) == 4, op, ": boxes2 should have shape [M, 4], got ", boxes2.sizes());
  TORCH_CHECK(
      boxes1.device() == boxes2.device(),
      op,
      ": boxes1 and boxes2 should be on the same device, got ",
      boxes1.device(),
      " and ",
      boxes2.device());
  TORCH_CHECK(
      at::isFloatingType(boxes1.scalar_type()),
      op,
      ": boxes1 should be a floating point tensor, got ",
      boxes1.scalar_type());
  TORCH_CHECK(
      boxes1.scalar_type() == boxes2.scalar_type(),
      op,
      ": boxes1 and boxes2 should have the same dtype, got ",
      boxes1.scalar_type(),
      " and ",
      boxes2.scalar_type());
}

// Half and bfloat16 boxes are computed in float32 (the result is the float32 op on the upcast inputs).
inline at::Tensor compute_dtype(const at::Tensor& t) {
  const auto dtype = t.scalar_type();
  if (dtype == at::kHalf || dtype == at::kBFloat16) {
    return t.to(at::kFloat).contiguous();
  }
  return t.contiguous();
}

inline int iou_kind_from_name(std::string_view kind) {
  if (kind == "iou") {
    return 0;
  }
  if (kind == "giou") {
    return 1;
  }
  if (kind == "diou") {
    return 2;
  }
  if (kind == "ciou") {
    return 3;
  }
  TORCH_CHECK(false, "pairwise_iou: kind should be one of 'iou', 'giou', 'diou', 'ciou', got '", kind, "'");
}

inline int soft_method_from_name(std::string_view method) {
  if (method == "gaussian") {
    return 0;
  }
  if (method == "linear") {
    return 1;
  }
  TORCH_CHECK(false, "soft_nms: method should be 'gaussian' or 'linear', got '", method, "'");
}

inline void check_soft_params(double sigma, std::string_view method) {
  soft_method_from_name(method);
  TORCH_CHECK(sigma > 0, "soft_nms: sigma should be > 0, got ", sigma);
}

} // namespace visionq::ops::detail

// The CUDA implementations of the visionq ops: the shared host pipelines of common/nms_flow.h with executors
// that launch the kernels of nms_kernel.cu, soft_nms_kernel.cu and box_iou_kernel.cu on the current stream.
// Compiled by the host compiler (only the .cu files go through nvcc), and only in CUDA builds.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <optional>
#include <string_view>
#include <tuple>

#include "../common/checks.h"
#include "../common/nms_flow.h"
#include "cuda_helpers.h"
#include "launchers.h"

namespace visionq::ops {

namespace {

using detail::kBoxesPerWord;
using detail::mask_t;

cudaStream_t stream() {
  return c10::cuda::getCurrentCUDAStream();
}

struct CudaExec {
  template <typename T>
  static void mask(
      int64_t n,
      int64_t col_blocks,
      const T* boxes,
      const int64_t* labels,
      detail::Criterion criterion,
      T threshold,
      mask_t* mask) {
    TORCH_CHECK(
        col_blocks <= cuda::kMaxGridY,
        "NMS on CUDA takes at most ",
        cuda::kMaxGridY * kBoxesPerWord,
        " boxes, got ",
        n);
    C10_CUDA_CHECK(cuda::launch_nms_mask(n, col_blocks, boxes, labels, criterion, threshold, mask, stream()));
  }

  static void reduce(int64_t n, int64_t col_blocks, const mask_t* mask, mask_t* removed, mask_t* keep_words) {
    C10_CUDA_CHECK(cuda::launch_nms_reduce(n, col_blocks, mask, removed, keep_words, stream()));
  }

  static void assign(int64_t n, int64_t col_blocks, const mask_t* mask, const mask_t* keep_words, int64_t* out) {
    C10_CUDA_CHECK(cuda::launch_nms_assign(n, col_blocks, mask, keep_words, out, stream()));
  }

  template <typename T>
  static void merge(
      int64_t num_kept,
      const int64_t* kept,
      int64_t n,
      const int64_t* assign,
      const T* boxes,
      const T* scores,
      T* out) {
    if (num_kept > 0) {
      C10_CUDA_CHECK(cuda::launch_nms_merge(num_kept, kept, n, assign, boxes, scores, out, stream()));
    }
  }

  template <typename T>
  static void and_overlap(
      int64_t num_kept,
      const int64_t* kept,
      int64_t n,
      const int64_t* assign,
      const T* boxes,
      const int64_t* labels,
      T overlap_threshold,
      uint8_t* out) {
    if (num_kept > 0) {
      C10_CUDA_CHECK(
          cuda::launch_nms_and(num_kept, kept, n, assign, boxes, labels, overlap_threshold, out, stream()));
    }
  }

  template <typename T>
  static void soft(
      int64_t segments,
      const int64_t* begins,
      const int64_t* ends,
      const T* boxes,
      T* current,
      uint8_t* alive,
      const detail::SoftParams<T>& params,
      int64_t* out_pos,
      T* out_score,
      uint8_t* out_used) {
    C10_CUDA_CHECK(cuda::launch_soft_nms(
        segments, begins, ends, boxes, current, alive, params, out_pos, out_score, out_used, stream()));
  }
};

std::tuple<at::Tensor, at::Tensor> run_greedy(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    detail::GreedyVariant variant,
    double min_overlap,
    const char* op,
    bool torchvision_tie_order = false) {
  detail::check_boxes_and_scores(dets, scores, op);
  detail::check_optional_idxs(dets, idxs, op);
  const c10::cuda::CUDAGuard device_guard(dets.device());
  return detail::greedy_nms_flow<CudaExec>(
      dets, scores, idxs, iou_threshold, variant, min_overlap, torchvision_tie_order);
}

at::Tensor nms_kernel(const at::Tensor& dets, const at::Tensor& scores, double iou_threshold) {
  return std::get<0>(run_greedy(dets, scores, std::nullopt, iou_threshold, detail::GreedyVariant::kNms, 0, "nms"));
}

at::Tensor batched_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& idxs,
    double iou_threshold,
    bool torchvision_tie_order) {
  return std::get<0>(run_greedy(
      dets, scores, idxs, iou_threshold, detail::GreedyVariant::kNms, 0, "batched_nms", torchvision_tie_order));
}

at::Tensor diou_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold) {
  return std::get<0>(run_greedy(dets, scores, idxs, iou_threshold, detail::GreedyVariant::kDIoU, 0, "diou_nms"));
}

std::tuple<at::Tensor, at::Tensor> merge_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold) {
  return run_greedy(dets, scores, idxs, iou_threshold, detail::GreedyVariant::kMerge, 0, "merge_nms");
}

at::Tensor and_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    double min_overlap) {
  return std::get<0>(
      run_greedy(dets, scores, idxs, iou_threshold, detail::GreedyVariant::kAnd, min_overlap, "and_nms"));
}

std::tuple<at::Tensor, at::Tensor> soft_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    double sigma,
    std::string_view method,
    double score_threshold) {
  detail::check_boxes_and_scores(dets, scores, "soft_nms");
  detail::check_optional_idxs(dets, idxs, "soft_nms");
  detail::check_soft_params(sigma, method);
  const c10::cuda::CUDAGuard device_guard(dets.device());
  return detail::soft_nms_flow<CudaExec>(
      dets, scores, idxs, iou_threshold, sigma, detail::soft_method_from_name(method), score_threshold);
}

at::Tensor pairwise_iou_kernel(const at::Tensor& boxes1, const at::Tensor& boxes2, std::string_view kind, double eps) {
  detail::check_pairwise(boxes1, boxes2, "pairwise_iou");
  const auto k = static_cast<detail::IoUKind>(detail::iou_kind_from_name(kind));
  const c10::cuda::CUDAGuard device_guard(boxes1.device());
  const auto a = detail::compute_dtype(boxes1);
  const auto b = detail::compute_dtype(boxes2);
  auto out = at::empty({a.size(0), b.size(0)}, a.options());
  if (out.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "pairwise_iou", [&] {
      C10_CUDA_CHECK(cuda::launch_pairwise_iou(
          a.data_ptr<scalar_t>(),
          a.size(0),
          b.data_ptr<scalar_t>(),
          b.size(0),
          k,
          static_cast<scalar_t>(eps),
          out.data_ptr<scalar_t>(),
          stream()));
    });
  }
  return out.to(boxes1.scalar_type());
}

} // namespace

TORCH_LIBRARY_IMPL(visionq, CUDA, m) {
  m.impl("nms", TORCH_FN(nms_kernel));
  m.impl("batched_nms", TORCH_FN(batched_nms_kernel));
  m.impl("diou_nms", TORCH_FN(diou_nms_kernel));
  m.impl("merge_nms", TORCH_FN(merge_nms_kernel));
  m.impl("and_nms", TORCH_FN(and_nms_kernel));
  m.impl("soft_nms", TORCH_FN(soft_nms_kernel));
  m.impl("pairwise_iou", TORCH_FN(pairwise_iou_kernel));
}

} // namespace visionq::ops

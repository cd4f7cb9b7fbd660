// Host side of the CUDA NMS pipelines, written once over an executor that runs the per-thread functions of
// nms_grid.h: cuda/*.cu pass one that launches kernels, cpu/nms_harness_kernel.cpp one that loops over the
// same grid on the CPU. Everything else (sorting, gathering, compaction, output order) is ATen code that runs
// unchanged on either device, so the harness exercises the CUDA ops end to end except for the launches.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/unique_consecutive.h>
#include <ATen/ops/zeros.h>

#include <optional>
#include <string_view>
#include <tuple>

#include "checks.h"
#include "nms_grid.h"

namespace visionq::ops::detail {

// The greedy ops that share the mask kernel.
enum class GreedyVariant { kNms, kDIoU, kMerge, kAnd };

inline GreedyVariant greedy_variant_from_name(std::string_view name) {
  if (name == "nms") {
    return GreedyVariant::kNms;
  }
  if (name == "diou") {
    return GreedyVariant::kDIoU;
  }
  if (name == "merge") {
    return GreedyVariant::kMerge;
  }
  if (name == "and") {
    return GreedyVariant::kAnd;
  }
  TORCH_CHECK(false, "variant should be one of 'nms', 'diou', 'merge', 'and', got '", name, "'");
}

// Sorted positions: by decreasing score (stable, NaN first, as torch.sort), grouped by class when there are
// class ids. `order` maps a sorted position to the original index; `labels` are the sorted class ids.
struct SortedOrder {
  at::Tensor order;
  at::Tensor labels;
};

inline SortedOrder sort_for_nms(const at::Tensor& scores, const std::optional<at::Tensor>& idxs) {
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  if (!idxs.has_value()) {
    return {order, at::Tensor()};
  }
  const auto labels = idxs->to(at::kLong).index_select(0, order);
  const auto by_class = std::get<1>(labels.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  return {order.index_select(0, by_class), labels.index_select(0, by_class).contiguous()};
}

// Flags [n] (bool) from the reduction's keep words: bit t of word b is sorted position 64 * b + t.
inline at::Tensor keep_flags_from_words(const at::Tensor& words, int64_t n) {
  const auto shifts = at::arange(kBoxesPerWord, words.options());
  return words.unsqueeze(1).bitwise_right_shift(shifts).bitwise_and(1).reshape({-1}).narrow(0, 0, n).to(at::kBool);
}

// Kept original indices by decreasing score, ties by lower index (sorted positions are class-major when
// there are class ids, so they are re-sorted); with torchvision_tie_order, ties in the order of torchvision's
// _batched_nms_vanilla (increasing indices, then its unstable descending sort). `rows` is permuted alike.
inline std::tuple<at::Tensor, at::Tensor> order_by_score(
    const at::Tensor& keep,
    const at::Tensor& rows,
    const at::Tensor& scores,
    bool class_major,
    bool torchvision_tie_order) {
  if (!class_major || keep.numel() == 0) {
    return {keep, rows};
  }
  const auto by_index = std::get<1>(keep.sort());
  const auto keep_by_index = keep.index_select(0, by_index);
  const auto kept_scores = scores.index_select(0, keep_by_index);
  const auto by_score = torchvision_tie_order
      ? std::get<1>(kept_scores.sort(/*dim=*/0, /*descending=*/true))
      : std::get<1>(kept_scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const auto perm = by_index.index_select(0, by_score);
  return {keep.index_select(0, perm), rows.defined() ? rows.index_select(0, perm) : rows};
}

inline mask_t* as_words(const at::Tensor& t) {
  return reinterpret_cast<mask_t*>(t.data_ptr<int64_t>());
}

// Hard NMS, DIoU-NMS, merge-NMS or and-NMS with the mask pipeline. Inputs already checked.
// Returns (keep, merged boxes [K, 4] for kMerge, else an empty [0, 4] tensor).
template <class Exec>
std::tuple<at::Tensor, at::Tensor> greedy_nms_flow(
    const at::Tensor& dets_in,
    const at::Tensor& scores_in,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    GreedyVariant variant,
    double min_overlap,
    bool torchvision_tie_order = false) {
  const int64_t n = dets_in.size(0);
  const auto long_options = dets_in.options().dtype(at::kLong);
  if (n == 0) {
    return {at::empty({0}, long_options), at::empty({0, 4}, dets_in.options())};
  }
  const auto dets = compute_dtype(dets_in);
  const auto scores = compute_dtype(scores_in);
  const auto sorted = sort_for_nms(scores, idxs);
  const auto boxes = dets.index_select(0, sorted.order).contiguous();
  const auto sorted_scores = scores.index_select(0, sorted.order).contiguous();
  const int64_t col_blocks = ceil_div(n, kBoxesPerWord);
  const auto mask = at::empty({n * col_blocks}, long_options);
  const auto removed = at::zeros({col_blocks}, long_options);
  const auto keep_words = at::zeros({col_blocks}, long_options);
  const int64_t* labels = sorted.labels.defined() ? sorted.labels.data_ptr<int64_t>() : nullptr;
  const auto criterion = variant == GreedyVariant::kDIoU ? Criterion::kDIoU : Criterion::kIoU;

  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "greedy_nms_mask", [&] {
    const auto threshold = round_down_threshold<scalar_t>(iou_threshold);
    Exec::mask(n, col_blocks, boxes.data_ptr<scalar_t>(), labels, criterion, threshold, as_words(mask));
  });
  Exec::reduce(n, col_blocks, as_words(mask), as_words(removed), as_words(keep_words));
  auto kept = keep_flags_from_words(keep_words, n).nonzero().view({-1});

  at::Tensor merged;
  if (variant == GreedyVariant::kMerge || variant == GreedyVariant::kAnd) {
    const auto assign = at::empty({n}, long_options);
    Exec::assign(n, col_blocks, as_words(mask), as_words(keep_words), assign.data_ptr<int64_t>());
    const int64_t num_kept = kept.size(0);
    AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "greedy_nms_post", [&] {
      if (variant == GreedyVariant::kMerge) {
        merged = at::empty({num_kept, 4}, boxes.options());
        Exec::merge(
            num_kept,
            kept.data_ptr<int64_t>(),
            n,
            assign.data_ptr<int64_t>(),
            boxes.data_ptr<scalar_t>(),
            sorted_scores.data_ptr<scalar_t>(),
            merged.data_ptr<scalar_t>());
      } else {
        const auto overlaps = at::empty({num_kept}, dets.options().dtype(at::kByte));
        Exec::and_overlap(
            num_kept,
            kept.data_ptr<int64_t>(),
            n,
            assign.data_ptr<int64_t>(),
            boxes.data_ptr<scalar_t>(),
            labels,
            round_down_threshold<scalar_t>(min_overlap),
            overlaps.data_ptr<uint8_t>());
        kept = kept.index_select(0, overlaps.nonzero().view({-1}));
      }
    });
  }
  auto [keep, rows] =
      order_by_score(sorted.order.index_select(0, kept), merged, scores, idxs.has_value(), torchvision_tie_order);
  rows = rows.defined() ? rows.to(dets_in.scalar_type()) : at::empty({0, 4}, dets_in.options());
  return {keep, rows};
}

// Soft-NMS with one block per class segment. Inputs already checked.
// Returns (keep, decayed scores), by decreasing decayed score (ties: class segment, then selection order).
template <class Exec>
std::tuple<at::Tensor, at::Tensor> soft_nms_flow(
    const at::Tensor& dets_in,
    const at::Tensor& scores_in,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    double sigma,
    int method,
    double score_threshold) {
  const int64_t n = dets_in.size(0);
  const auto long_options = dets_in.options().dtype(at::kLong);
  if (n == 0) {
    return {at::empty({0}, long_options), at::empty({0}, scores_in.options())};
  }
  const auto dets = compute_dtype(dets_in);
  const auto scores = compute_dtype(scores_in);
  const auto sorted = sort_for_nms(scores, idxs);
  const auto boxes = dets.index_select(0, sorted.order).contiguous();
  const auto current = scores.index_select(0, sorted.order).contiguous();
  at::Tensor begins, ends;
  if (sorted.labels.defined()) {
    const auto counts = std::get<2>(at::unique_consecutive(sorted.labels, false, true));
    ends = counts.cumsum(0);
    begins = ends.sub(counts);
  } else {
    begins = at::zeros({1}, long_options);
    ends = at::full({1}, n, long_options);
  }
  const auto alive = at::empty({n}, dets.options().dtype(at::kByte));
  const auto out_pos = at::empty({n}, long_options);
  const auto out_score = at::empty({n}, current.options());
  const auto out_used = at::zeros({n}, dets.options().dtype(at::kByte));
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "soft_nms", [&] {
    Exec::soft(
        begins.size(0),
        begins.data_ptr<int64_t>(),
        ends.data_ptr<int64_t>(),
        boxes.data_ptr<scalar_t>(),
        current.data_ptr<scalar_t>(),
        alive.data_ptr<uint8_t>(),
        make_soft_params<scalar_t>(iou_threshold, sigma, method, score_threshold),
        out_pos.data_ptr<int64_t>(),
        out_score.data_ptr<scalar_t>(),
        out_used.data_ptr<uint8_t>());
  });
  const auto slots = out_used.nonzero().view({-1});
  const auto decayed = out_score.index_select(0, slots);
  const auto by_score = std::get<1>(decayed.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const auto keep = sorted.order.index_select(0, out_pos.index_select(0, slots).index_select(0, by_score));
  return {keep, decayed.index_select(0, by_score).to(scores_in.scalar_type())};
}

} // namespace visionq::ops::detail

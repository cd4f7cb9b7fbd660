// DIoU-NMS, merge-NMS, and-NMS and Soft-NMS on the CPU, per class run (spread over threads), on the sorted
// layout of layout.h. Each follows the seed's loop (seeds/001 L271-328) step for step, so its results equal
// the CUDA pipelines' (checked through visionq::_nms_mask_cpu_harness and _soft_nms_cpu_harness).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <optional>
#include <string_view>
#include <tuple>

#include "../common/checks.h"
#include "../common/nms_grid.h"
#include "greedy.h"
#include "layout.h"

namespace visionq::ops {

namespace {

using cpu::BoxRun;
using cpu::SortedLayout;

at::Tensor long_labels(const std::optional<at::Tensor>& idxs) {
  return idxs.has_value() ? idxs->to(at::kLong).contiguous() : at::Tensor();
}

template <typename T>
SortedLayout<T> layout_of(const at::Tensor& dets, const at::Tensor& scores, const at::Tensor& labels) {
  return cpu::make_layout<T>(
      dets.data_ptr<T>(), scores.data_ptr<T>(), labels.defined() ? labels.data_ptr<int64_t>() : nullptr, dets.size(0));
}

// Greedy pass recording, for every position, itself if kept or the first kept box that suppressed it.
template <typename T>
std::vector<int64_t> greedy_with_first(const BoxRun<T>& run, T threshold, uint8_t* keep) {
  std::vector<int64_t> first(run.size);
  cpu::greedy_linear<T, cpu::IoUCriterion<T>>(run, threshold, threshold >= T(0), keep, first.data());
  return first;
}

template <typename T>
at::Tensor diou_nms_impl(const at::Tensor& dets, const at::Tensor& scores, const at::Tensor& labels, double thr) {
  const auto layout = layout_of<T>(dets, scores, labels);
  const T threshold = detail::round_down_threshold<T>(thr);
  std::vector<uint8_t> keep(dets.size(0), 0);
  cpu::for_each_run(layout, [&](int64_t r) {
    cpu::greedy_linear<T, cpu::DIoUCriterion<T>>(
        layout.run(r), threshold, threshold >= T(0), keep.data() + layout.segments[r], nullptr);
  });
  return cpu::kept_indices(layout, keep, nullptr);
}

template <typename T>
std::tuple<at::Tensor, at::Tensor> merge_nms_impl(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& labels,
    double thr) {
  const auto layout = layout_of<T>(dets, scores, labels);
  const T threshold = detail::round_down_threshold<T>(thr);
  const int64_t n = dets.size(0);
  const T* original_scores = scores.data_ptr<T>();
  std::vector<uint8_t> keep(n, 0);
  std::vector<T> merged(4 * n, T(0));
  cpu::for_each_run(layout, [&](int64_t r) {
    const auto run = layout.run(r);
    const int64_t begin = layout.segments[r];
    const auto first = greedy_with_first(run, threshold, keep.data() + begin);
    std::vector<T> weight(run.size, T(0));
    T* sums = merged.data() + 4 * begin;
    for (int64_t j = 0; j < run.size; ++j) { // in sorted order, as merge_cluster sums on the device
      const int64_t c = first[j];
      const T w = original_scores[layout.index(begin + j)];
      sums[4 * c + 0] += w * run.x1[j];
      sums[4 * c + 1] += w * run.y1[j];
      sums[4 * c + 2] += w * run.x2[j];
      sums[4 * c + 3] += w * run.y2[j];
      weight[c] += w;
    }
    for (int64_t k = 0; k < run.size; ++k) {
      if (keep[begin + k]) {
        const T box[4] = {run.x1[k], run.y1[k], run.x2[k], run.y2[k]};
        for (int d = 0; d < 4; ++d) {
          sums[4 * k + d] = weight[k] != T(0) ? sums[4 * k + d] / weight[k] : box[d];
        }
      }
    }
  });
  std::vector<int64_t> positions;
  auto keep_t = cpu::kept_indices(layout, keep, &positions);
  auto boxes = at::empty({static_cast<int64_t>(positions.size()), 4}, dets.options());
  T* out = boxes.data_ptr<T>();
  for (size_t t = 0; t < positions.size(); ++t) {
    std::copy_n(merged.data() + 4 * positions[t], 4, out + 4 * t);
  }
  return {keep_t, boxes};
}

template <typename T>
at::Tensor and_nms_impl(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& labels,
    double thr,
    double min_overlap) {
  const auto layout = layout_of<T>(dets, scores, labels);
  const T threshold = detail::round_down_threshold<T>(thr);
  const T overlap = detail::round_down_threshold<T>(min_overlap);
  std::vector<uint8_t> keep(dets.size(0), 0);
  cpu::for_each_run(layout, [&](int64_t r) {
    const auto b = layout.run(r);
    uint8_t* run_keep = keep.data() + layout.segments[r];
    const auto first = greedy_with_first(b, threshold, run_keep);
    for (int64_t k = 0; k < b.size; ++k) {
      if (!run_keep[k]) {
        continue;
      }
      bool overlapped = false; // by a box still in play at k's step: not removed by an earlier kept box
      for (int64_t j = k + 1; j < b.size && !overlapped; ++j) {
        overlapped = first[j] >= k &&
            detail::nms_iou(b.x1[k], b.y1[k], b.x2[k], b.y2[k], b.area[k], b.x1[j], b.y1[j], b.x2[j], b.y2[j], b.area[j]) >
                overlap;
      }
      run_keep[k] = overlapped;
    }
  });
  return cpu::kept_indices(layout, keep, nullptr);
}

// One class run of Soft-NMS: selected positions (run-local) and their decayed scores, in selection order.
template <typename T>
void soft_nms_run(
    const BoxRun<T>& b,
    const T* run_scores,
    const detail::SoftParams<T>& p,
    std::vector<int64_t>& selected,
    std::vector<T>& decayed) {
  std::vector<int64_t> alive; // ascending positions, so the first maximum is the earliest position
  std::vector<T> current;
  for (int64_t j = 0; j < b.size; ++j) {
    if (run_scores[j] > p.score_threshold) {
      alive.push_back(j);
      current.push_back(run_scores[j]);
    }
  }
  while (!alive.empty()) {
    size_t best = 0;
    for (size_t t = 1; t < alive.size(); ++t) {
      if (current[t] > current[best]) {
        best = t;
      }
    }
    const int64_t s = alive[best];
    selected.push_back(s);
    decayed.push_back(current[best]);
    size_t out = 0;
    for (size_t t = 0; t < alive.size(); ++t) {
      if (t == best) {
        continue;
      }
      const int64_t j = alive[t];
      const T iou = detail::seed_iou(
          detail::IoUKind::kIoU, T(detail::kSeedEps), b.x1[s], b.y1[s], b.x2[s], b.y2[s], b.x1[j], b.y1[j], b.x2[j], b.y2[j]);
      const T score = current[t] * detail::soft_weight(iou, p);
      if (score > p.score_threshold) {
        alive[out] = j;
        current[out] = score;
        ++out;
      }
    }
    alive.resize(out);
    current.resize(out);
  }
}

template <typename T>
std::tuple<at::Tensor, at::Tensor> soft_nms_impl(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const at::Tensor& labels,
    const detail::SoftParams<T>& params) {
  const auto layout = layout_of<T>(dets, scores, labels);
  const int64_t n = dets.size(0);
  std::vector<T> sorted_scores(n);
  for (int64_t p = 0; p < n; ++p) {
    sorted_scores[p] = scores.data_ptr<T>()[layout.index(p)];
  }
  const int64_t runs = layout.runs();
  std::vector<std::vector<int64_t>> selected(runs);
  std::vector<std::vector<T>> decayed(runs);
  cpu::for_each_run(layout, [&](int64_t r) {
    soft_nms_run(layout.run(r), sorted_scores.data() + layout.segments[r], params, selected[r], decayed[r]);
  });
  std::vector<int64_t> positions;
  std::vector<T> values;
  for (int64_t r = 0; r < runs; ++r) {
    for (size_t t = 0; t < selected[r].size(); ++t) {
      positions.push_back(layout.segments[r] + selected[r][t]);
      values.push_back(decayed[r][t]);
    }
  }
  const auto order = cpu::descending_order(values.data(), static_cast<int64_t>(values.size()));
  const auto k = static_cast<int64_t>(order.size());
  auto keep = at::empty({k}, dets.options().dtype(at::kLong));
  auto out_scores = at::empty({k}, scores.options());
  for (int64_t t = 0; t < k; ++t) {
    keep.data_ptr<int64_t>()[t] = layout.index(positions[order[t]]);
    out_scores.data_ptr<T>()[t] = values[order[t]];
  }
  return {keep, out_scores};
}

at::Tensor diou_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold) {
  detail::check_boxes_and_scores(dets, scores, "diou_nms");
  detail::check_optional_idxs(dets, idxs, "diou_nms");
  if (dets.size(0) == 0) {
    return at::empty({0}, dets.options().dtype(at::kLong));
  }
  const auto boxes = detail::compute_dtype(dets);
  const auto values = detail::compute_dtype(scores);
  at::Tensor result;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "diou_nms", [&] {
    result = diou_nms_impl<scalar_t>(boxes, values, long_labels(idxs), iou_threshold);
  });
  return result;
}

std::tuple<at::Tensor, at::Tensor> merge_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold) {
  detail::check_boxes_and_scores(dets, scores, "merge_nms");
  detail::check_optional_idxs(dets, idxs, "merge_nms");
  if (dets.size(0) == 0) {
    return {at::empty({0}, dets.options().dtype(at::kLong)), at::empty({0, 4}, dets.options())};
  }
  const auto boxes = detail::compute_dtype(dets);
  const auto values = detail::compute_dtype(scores);
  std::tuple<at::Tensor, at::Tensor> result;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "merge_nms", [&] {
    result = merge_nms_impl<scalar_t>(boxes, values, long_labels(idxs), iou_threshold);
  });
  std::get<1>(result) = std::get<1>(result).to(dets.scalar_type());
  return result;
}

at::Tensor and_nms_kernel(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    double min_overlap) {
  detail::check_boxes_and_scores(dets, scores, "and_nms");
  detail::check_optional_idxs(dets, idxs, "and_nms");
  if (dets.size(0) == 0) {
    return at::empty({0}, dets.options().dtype(at::kLong));
  }
  const auto boxes = detail::compute_dtype(dets);
  const auto values = detail::compute_dtype(scores);
  at::Tensor result;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "and_nms", [&] {
    result = and_nms_impl<scalar_t>(boxes, values, long_labels(idxs), iou_threshold, min_overlap);
  });
  return result;
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
  if (dets.size(0) == 0) {
    return {at::empty({0}, dets.options().dtype(at::kLong)), at::empty({0}, scores.options())};
  }
  const auto boxes = detail::compute_dtype(dets);
  const auto values = detail::compute_dtype(scores);
  const int method_id = detail::soft_method_from_name(method);
  std::tuple<at::Tensor, at::Tensor> result;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "soft_nms", [&] {
    const auto params = detail::make_soft_params<scalar_t>(iou_threshold, sigma, method_id, score_threshold);
    result = soft_nms_impl<scalar_t>(boxes, values, long_labels(idxs), params);
  });
  std::get<1>(result) = std::get<1>(result).to(scores.scalar_type());
  return result;
}

} // namespace

TORCH_LIBRARY_IMPL(visionq, CPU, m) {
  m.impl("diou_nms", TORCH_FN(diou_nms_kernel));
  m.impl("merge_nms", TORCH_FN(merge_nms_kernel));
  m.impl("and_nms", TORCH_FN(and_nms_kernel));
  m.impl("soft_nms", TORCH_FN(soft_nms_kernel));
}

} // namespace visionq::ops

// Hard NMS and class-aware batched NMS on the CPU. See greedy.h for the algorithm and why it keeps exactly
// torchvision's boxes.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/box_math.h"
#include "../common/checks.h"
#include "greedy.h"
#include "layout.h"
#include "tie_order.h"

namespace visionq::ops {

namespace {

// Do kept boxes i - 1 and i (listed by decreasing score) share a score? Equal sort keys: NaNs tie, as do +-0,
// exactly as torch.sort's comparator sees them.
template <typename T>
bool tied_with_previous(const int64_t* kept, const T* scores, int64_t i) {
  return cpu::descending_key(scores[kept[i - 1]]) == cpu::descending_key(scores[kept[i]]);
}

template <typename T>
bool has_tied_scores(const at::Tensor& kept, const T* scores) {
  const int64_t* k = kept.data_ptr<int64_t>();
  for (int64_t i = 1; i < kept.size(0); ++i) {
    if (tied_with_previous(k, scores, i)) {
      return true;
    }
  }
  return false;
}

// torchvision's _batched_nms_vanilla order: the kept indices in increasing order, then
// scores[kept].sort(descending=True). That sort is not stable: tied scores come out in the order libstdc++'s
// introsort leaves them (ATen's CPU sort is std::sort with a "NaN first, then greater" comparator).
// tie_order.h replays only the partition rounds that can reorder tied scores; a stable radix sort by score then
// gives std::sort's exact result. `kept` lists the kept indices by decreasing score, ties by index.
template <typename T>
at::Tensor torchvision_order(const at::Tensor& kept, const T* scores, int64_t n) {
  const int64_t count = kept.size(0);
  const int64_t* k = kept.data_ptr<int64_t>();
  using Key = decltype(cpu::descending_key(T(0)));
  // Keys that occur more than once among the kept scores (equal keys are adjacent in `kept`).
  std::vector<uint8_t> tied(n, 0);
  for (int64_t i = 1; i < count; ++i) {
    if (tied_with_previous(k, scores, i)) {
      tied[k[i - 1]] = tied[k[i]] = 1;
    }
  }
  std::vector<uint8_t> is_kept(n, 0);
  for (int64_t i = 0; i < count; ++i) {
    is_kept[k[i]] = 1;
  }
  auto result = at::empty({count}, at::TensorOptions().dtype(at::kLong));
  int64_t* out = result.data_ptr<int64_t>();
  if constexpr (sizeof(Key) == 4) {
    if (n < (int64_t(1) << 32)) {
      std::vector<uint64_t> words; // (key << 32 | index), in increasing index as torchvision passes them
      words.reserve(count);
      for (int64_t i = 0; i < n; ++i) {
        if (is_kept[i]) {
          words.push_back((uint64_t(cpu::descending_key(scores[i])) << 32) | uint64_t(i));
        }
      }
      cpu::replay_introsort_partitions(
          words.data(), words.data() + count,
          [](uint64_t a, uint64_t b) { return (a >> 32) < (b >> 32); },
          [&](uint64_t w) { return tied[w & 0xffffffffu] != 0; });
      cpu::stable_sort_by_high_half(words);
      for (const uint64_t w : words) {
        *out++ = static_cast<int64_t>(w & 0xffffffffu);
      }
      return result;
    }
  }
  std::vector<std::pair<Key, int64_t>> pairs;
  pairs.reserve(count);
  for (int64_t i = 0; i < n; ++i) {
    if (is_kept[i]) {
      pairs.emplace_back(cpu::descending_key(scores[i]), i);
    }
  }
  const auto by_key = [](const std::pair<Key, int64_t>& a, const std::pair<Key, int64_t>& b) {
    return a.first < b.first;
  };
  cpu::replay_introsort_partitions(
      pairs.data(), pairs.data() + count, by_key, [&](const std::pair<Key, int64_t>& e) { return tied[e.second] != 0; });
  std::stable_sort(pairs.begin(), pairs.end(), by_key);
  for (const auto& entry : pairs) {
    *out++ = entry.second;
  }
  return result;
}

// The same order from ATen itself, for standard libraries other than libstdc++ (whose std::sort tie_order.h
// replays); e.g. libc++ on macOS.
[[maybe_unused]] at::Tensor aten_sort_order(const at::Tensor& kept, const at::Tensor& scores) {
  const auto ascending = std::get<0>(kept.sort());
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
#if defined(__GLIBCXX__)
    return torchvision_order<T>(kept, scores.data_ptr<T>(), n);
#else
    return aten_sort_order(kept, scores);
#endif
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

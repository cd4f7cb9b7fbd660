// A CPU harness for the CUDA kernels: the pipelines of common/nms_flow.h with an executor that runs each
// kernel's per-thread function (common/nms_grid.h) for every (block, thread) of its launch, in a fixed order.
// Registered as visionq::_nms_mask_cpu_harness and visionq::_soft_nms_cpu_harness so tests can compare the
// CUDA logic with the CPU ops on machines without a GPU.
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include "../common/checks.h"
#include "../common/nms_flow.h"
#include "../common/nms_grid.h"

namespace visionq::ops {

namespace {

using detail::kBoxesPerWord;
using detail::mask_t;

struct CpuGridExec {
  // nms_mask_kernel: grid (col_blocks, col_blocks), 64 threads, blocks below the diagonal return at once.
  template <typename T>
  static void mask(
      int64_t n,
      int64_t col_blocks,
      const T* boxes,
      const int64_t* labels,
      detail::Criterion criterion,
      T threshold,
      mask_t* mask) {
    for (int64_t row_block = 0; row_block < col_blocks; ++row_block) {
      for (int64_t col_block = row_block; col_block < col_blocks; ++col_block) {
        const T* tile = boxes + col_block * kBoxesPerWord * 4; // the kernel's shared-memory copy
        for (int tid = 0; tid < kBoxesPerWord; ++tid) {
          const int64_t i = row_block * kBoxesPerWord + tid;
          if (i < n) {
            mask[i * col_blocks + col_block] =
                detail::mask_word(n, row_block, col_block, tid, boxes, tile, labels, criterion, threshold);
          }
        }
      }
    }
  }

  // nms_reduce_kernel: one block; thread 0 resolves column block b, then the block propagates it.
  static void reduce(int64_t n, int64_t col_blocks, const mask_t* mask, mask_t* removed, mask_t* keep_words) {
    for (int64_t b = 0; b < col_blocks; ++b) {
      const mask_t kept = detail::reduce_resolve_block(b, n, col_blocks, mask, removed);
      keep_words[b] = kept;
      for (int64_t c = b + 1; c < col_blocks; ++c) {
        detail::reduce_propagate(b, kept, c, col_blocks, mask, removed);
      }
    }
  }

  static void assign(int64_t n, int64_t col_blocks, const mask_t* mask, const mask_t* keep_words, int64_t* out) {
    for (int64_t j = 0; j < n; ++j) {
      out[j] = detail::first_suppressor(j, col_blocks, mask, keep_words);
    }
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
    for (int64_t t = 0; t < num_kept; ++t) {
      detail::merge_cluster(kept[t], n, assign, boxes, scores, out + t * 4);
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
    for (int64_t t = 0; t < num_kept; ++t) {
      out[t] = detail::and_has_overlap(kept[t], n, assign, boxes, labels, overlap_threshold);
    }
  }

  // soft_nms_kernel: one block of kSoftThreads per segment; each step is a block-wide argmax, then a decay.
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
    constexpr int threads = detail::kSoftThreads;
    for (int64_t s = 0; s < segments; ++s) {
      const int64_t begin = begins[s];
      const int64_t end = ends[s];
      for (int tid = 0; tid < threads; ++tid) {
        detail::soft_thread_init(begin, end, tid, threads, current, alive, params);
      }
      for (int64_t count = 0;; ++count) {
        detail::SoftBest<T> best{T(0), -1};
        for (int tid = 0; tid < threads; ++tid) {
          best = detail::soft_better(best, detail::soft_thread_best(begin, end, tid, threads, current, alive));
        }
        if (best.pos < 0) {
          break;
        }
        out_pos[begin + count] = best.pos;
        out_score[begin + count] = best.score;
        out_used[begin + count] = 1;
        alive[best.pos] = 0;
        for (int tid = 0; tid < threads; ++tid) {
          detail::soft_thread_decay(begin, end, tid, threads, best.pos, boxes, current, alive, params);
        }
      }
    }
  }
};

std::tuple<at::Tensor, at::Tensor> nms_mask_cpu_harness(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    std::string_view variant,
    double min_overlap) {
  detail::check_boxes_and_scores(dets, scores, "_nms_mask_cpu_harness");
  detail::check_optional_idxs(dets, idxs, "_nms_mask_cpu_harness");
  const auto v = detail::greedy_variant_from_name(variant);
  return detail::greedy_nms_flow<CpuGridExec>(dets, scores, idxs, iou_threshold, v, min_overlap);
}

std::tuple<at::Tensor, at::Tensor> soft_nms_cpu_harness(
    const at::Tensor& dets,
    const at::Tensor& scores,
    const std::optional<at::Tensor>& idxs,
    double iou_threshold,
    double sigma,
    std::string_view method,
    double score_threshold) {
  detail::check_boxes_and_scores(dets, scores, "_soft_nms_cpu_harness");
  detail::check_optional_idxs(dets, idxs, "_soft_nms_cpu_harness");
  detail::check_soft_params(sigma, method);
  return detail::soft_nms_flow<CpuGridExec>(
      dets, scores, idxs, iou_threshold, sigma, detail::soft_method_from_name(method), score_threshold);
}

} // namespace

TORCH_LIBRARY_IMPL(visionq, CPU, m) {
  m.impl("_nms_mask_cpu_harness", TORCH_FN(nms_mask_cpu_harness));
  m.impl("_soft_nms_cpu_harness", TORCH_FN(soft_nms_cpu_harness));
}

} // namespace visionq::ops

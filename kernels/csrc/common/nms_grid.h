// The per-thread work of the CUDA NMS kernels, as __host__ __device__ functions.
//
// cuda/*.cu launch these over their grids; cpu/nms_harness_kernel.cpp runs the very same functions for every
// (block, thread) on the CPU, so the tests check the CUDA kernels' logic on machines without a GPU.
//
// Layout (torchvision cuda/nms_kernel.cu): boxes are sorted (by class, then by decreasing score) and split into
// blocks of 64; mask[i * col_blocks + c] has bit t set when box i suppresses box 64 * c + t, for j > i only
// (the upper triangle of 64 x 64 blocks). The greedy pass over the mask then runs on the device, one block of
// 64-box columns at a time, instead of copying the mask to the host.
#pragma once

#include "box_math.h"
#include "macros.h"

namespace visionq::ops::detail {

// What "box a suppresses box b" means: torchvision's IoU, or the seed's DIoU (DIoU-NMS, Zheng et al. 2020).
enum class Criterion : int { kIoU = 0, kDIoU = 1 };

// Does kept box `a` suppress candidate `b` (both x1 y1 x2 y2)? Strictly greater than the threshold.
template <typename T>
VISIONQ_HD bool suppresses(Criterion criterion, const T* a, const T* b, T threshold) {
  if (criterion == Criterion::kIoU) {
    const T a_area = box_area(a[0], a[1], a[2], a[3]);
    const T b_area = box_area(b[0], b[1], b[2], b[3]);
    return nms_iou(a[0], a[1], a[2], a[3], a_area, b[0], b[1], b[2], b[3], b_area) > threshold;
  }
  return seed_iou(IoUKind::kDIoU, T(kSeedEps), a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]) > threshold;
}

// Mask kernel, thread `tid` of block (row_block, col_block), row_block <= col_block: the word of row box
// i = 64 * row_block + tid over the column block. `col_boxes` points at the column block's boxes (shared memory
// on the device). `labels` (nullable) are class ids sorted ascending; boxes of different classes never interact.
template <typename T>
VISIONQ_HD mask_t mask_word(
    int64_t n,
    int64_t row_block,
    int64_t col_block,
    int tid,
    const T* boxes,
    const T* col_boxes,
    const int64_t* labels,
    Criterion criterion,
    T threshold) {
  const int64_t i = row_block * kBoxesPerWord + tid;
  const int64_t col_start = col_block * kBoxesPerWord;
  const int64_t col_size = n - col_start < kBoxesPerWord ? n - col_start : kBoxesPerWord;
  if (labels != nullptr && labels[i] < labels[col_start]) {
    return 0; // sorted by class: every box of this column block belongs to a later class
  }
  const T* a = boxes + i * 4;
  mask_t word = 0;
  for (int64_t t = row_block == col_block ? tid + 1 : 0; t < col_size; ++t) {
    if (labels != nullptr && labels[col_start + t] != labels[i]) {
      break; // later columns are later classes
    }
    if (suppresses(criterion, a, col_boxes + t * 4, threshold)) {
      word |= mask_t(1) << t;
    }
  }
  return word;
}

// Reduction, step 1 of column block b (one thread): walk its boxes in order. A box not yet removed is kept and
// removes what its diagonal word says. Returns the kept bits of block b; removed[b] is final afterwards.
VISIONQ_HD mask_t reduce_resolve_block(int64_t b, int64_t n, int64_t col_blocks, const mask_t* mask, mask_t* removed) {
  const int64_t start = b * kBoxesPerWord;
  const int64_t size = n - start < kBoxesPerWord ? n - start : kBoxesPerWord;
  mask_t word = removed[b];
  mask_t kept = 0;
  for (int64_t t = 0; t < size; ++t) {
    if (!((word >> t) & 1)) {
      kept |= mask_t(1) << t;
      word |= mask[(start + t) * col_blocks + b];
    }
  }
  removed[b] = word;
  return kept;
}

// Reduction, step 2 of column block b (one thread per later column block c > b): OR the rows of the boxes
// kept in block b into removed[c].
VISIONQ_HD void reduce_propagate(int64_t b, mask_t kept, int64_t c, int64_t col_blocks, const mask_t* mask, mask_t* removed) {
  mask_t acc = 0;
  while (kept != 0) {
    const int t = count_trailing_zeros(kept);
    kept &= kept - 1;
    acc |= mask[(b * kBoxesPerWord + t) * col_blocks + c];
  }
  removed[c] |= acc;
}

// Thread j after the reduction: j itself when kept, else the first kept box (in sorted order) that suppresses
// it. That box's step of the greedy loop is the one that removed j, so j belongs to its merge cluster.
VISIONQ_HD int64_t first_suppressor(int64_t j, int64_t col_blocks, const mask_t* mask, const mask_t* keep_words) {
  const int64_t jb = j / kBoxesPerWord;
  const mask_t jbit = mask_t(1) << (j % kBoxesPerWord);
  if (keep_words[jb] & jbit) {
    return j;
  }
  for (int64_t b = 0; b <= jb; ++b) {
    mask_t kept = b == jb ? keep_words[b] & (jbit - 1) : keep_words[b];
    while (kept != 0) {
      const int t = count_trailing_zeros(kept);
      kept &= kept - 1;
      const int64_t i = b * kBoxesPerWord + t;
      if (mask[i * col_blocks + jb] & jbit) {
        return i;
      }
    }
  }
  return -1; // not reached: a removed box always has a kept suppressor
}

// Merge-NMS, thread of kept box k: the score-weighted mean of its cluster {j : first_suppressor(j) == k},
// summed in sorted order (the CPU kernel sums in the same order, so both round alike). A cluster whose scores
// sum to zero keeps box k as it is.
template <typename T>
VISIONQ_HD void merge_cluster(int64_t k, int64_t n, const int64_t* assign, const T* boxes, const T* scores, T* out) {
  T sum[4] = {T(0), T(0), T(0), T(0)};
  T weight = T(0);
  for (int64_t j = k; j < n; ++j) {
    if (assign[j] != k) {
      continue;
    }
    const T w = scores[j];
    for (int d = 0; d < 4; ++d) {
      sum[d] += w * boxes[j * 4 + d];
    }
    weight += w;
  }
  for (int d = 0; d < 4; ++d) {
    out[d] = weight != T(0) ? sum[d] / weight : boxes[k * 4 + d]; // all-zero scores: nothing to average
  }
}

// And-NMS, thread of kept box k: does a box still in play at k's step (later in sorted order, same class, not
// removed by an earlier kept box) overlap k with IoU > overlap_threshold? The seed's and-NMS only outputs
// kept boxes for which this holds (seeds/001 L299-304).
template <typename T>
VISIONQ_HD bool and_has_overlap(
    int64_t k,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const int64_t* labels,
    T overlap_threshold) {
  const T* a = boxes + k * 4;
  for (int64_t j = k + 1; j < n; ++j) {
    if (labels != nullptr && labels[j] != labels[k]) {
      break;
    }
    if (assign[j] < k) {
      continue;
    }
    if (suppresses(Criterion::kIoU, a, boxes + j * 4, overlap_threshold)) {
      return true;
    }
  }
  return false;
}

// ---- Soft-NMS (Bodla et al. 2017): one block per class segment [begin, end) of the sorted boxes ----

enum class SoftMethod : int { kGaussian = 0, kLinear = 1 };

// Threads per block of the soft-NMS kernel (and per segment in the CPU harness).
constexpr int kSoftThreads = 256;

template <typename T>
struct SoftParams {
  SoftMethod method;
  T sigma;
  T iou_threshold; // linear method: decay only above it
  T score_threshold; // a box stays while its decayed score is > score_threshold
};

// The kernels' parameters in T, converted once so every backend compares against the same values.
template <typename T>
inline SoftParams<T> make_soft_params(double iou_threshold, double sigma, int method, double score_threshold) {
  return SoftParams<T>{
      static_cast<SoftMethod>(method),
      static_cast<T>(sigma),
      round_down_threshold<T>(iou_threshold),
      round_down_threshold<T>(score_threshold)};
}

// Score factor after overlapping the selected box with `iou`: exp(-iou^2 / sigma), or 1 - iou above the
// IoU threshold (linear).
template <typename T>
VISIONQ_HD T soft_weight(T iou, const SoftParams<T>& p) {
  if (p.method == SoftMethod::kGaussian) {
    return vq_exp(-(iou * iou) / p.sigma);
  }
  return iou > p.iou_threshold ? T(1) - iou : T(1);
}

template <typename T>
struct SoftBest {
  T score;
  int64_t pos; // -1: none
};

// Higher score wins; equal scores go to the earlier sorted position. Associative and commutative, so any
// reduction order (a tree on the device, a loop in the harness) picks the same box.
template <typename T>
VISIONQ_HD SoftBest<T> soft_better(SoftBest<T> a, SoftBest<T> b) {
  if (b.pos < 0) {
    return a;
  }
  if (a.pos < 0 || b.score > a.score || (b.score == a.score && b.pos < a.pos)) {
    return b;
  }
  return a;
}

// Thread tid of nthreads handles positions begin + tid, begin + tid + nthreads, ... of its segment.
template <typename T>
VISIONQ_HD void soft_thread_init(
    int64_t begin,
    int64_t end,
    int tid,
    int nthreads,
    const T* current,
    unsigned char* alive,
    const SoftParams<T>& p) {
  for (int64_t j = begin + tid; j < end; j += nthreads) {
    alive[j] = current[j] > p.score_threshold;
  }
}

template <typename T>
VISIONQ_HD SoftBest<T> soft_thread_best(
    int64_t begin,
    int64_t end,
    int tid,
    int nthreads,
    const T* current,
    const unsigned char* alive) {
  SoftBest<T> best{T(0), -1};
  for (int64_t j = begin + tid; j < end; j += nthreads) {
    if (alive[j]) {
      best = soft_better(best, SoftBest<T>{current[j], j});
    }
  }
  return best;
}

// After box `selected` was output (and marked dead): decay the scores of the thread's alive boxes by their
// overlap with it (the seed's bbox_iou, 1e-16 in the union) and drop those at or below the score threshold.
template <typename T>
VISIONQ_HD void soft_thread_decay(
    int64_t begin,
    int64_t end,
    int tid,
    int nthreads,
    int64_t selected,
    const T* boxes,
    T* current,
    unsigned char* alive,
    const SoftParams<T>& p) {
  const T* a = boxes + selected * 4;
  for (int64_t j = begin + tid; j < end; j += nthreads) {
    if (!alive[j]) {
      continue;
    }
    const T* b = boxes + j * 4;
    const T iou = seed_iou(IoUKind::kIoU, T(kSeedEps), a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
    current[j] *= soft_weight(iou, p);
    alive[j] = current[j] > p.score_threshold;
  }
}

} // namespace visionq::ops::detail

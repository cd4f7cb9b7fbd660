// Greedy NMS over one run of boxes sorted by decreasing score, on the CPU.
//
// torchvision's CPU kernel lets every kept box scan all later boxes through an index indirection. Here each
// candidate is tested against the boxes kept so far, stored as padded structure-of-arrays chunks the compiler
// vectorises, stopping at the first chunk that suppresses it. The result is the same: a box is dropped iff a
// kept, higher-ranked box overlaps it with IoU > threshold, and the IoU is evaluated with torchvision's very
// operations (box_math.h nms_iou), so the kept set is identical bit for bit.
//
// Once kLinearMaxKept boxes are kept (IoU criterion, threshold >= 0), the kept boxes are also binned into a
// uniform grid by their (x1, y1) corner, so a candidate only meets the kept boxes that can reach it. Exact:
// - with threshold >= 0 a pair can only suppress when its intersection is positive, which needs both boxes
//   finite with x2 > x1 and y2 > y1 ("eligible"); a NaN/inf coordinate makes an area NaN or inf and the IoU
//   NaN or 0, so ineligible boxes are always kept and never suppress anything;
// - a kept box k no wider than reach_x that suppresses candidate c overlaps it in x by more than
//   s * wc (s just below the threshold, see KeptGrid::plan), so x1c + s * wc - reach_x < x1k < x2c - s * wc:
//   its corner cell lies between those two coordinates' cells (cell indices are monotone in x; a 1e-6 cell
//   margin absorbs rounding). The same holds in y. Wider or taller kept boxes go to a list every candidate scans.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../common/box_math.h"
#include "../common/nms_grid.h"

// The hot loops are compiled twice, for AVX2 and for the baseline, and picked at load time (GCC function
// multi-versioning): 8-wide instead of 4-wide float lanes. Neither clone uses FMA, so results are identical.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VISIONQ_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define VISIONQ_MULTIVERSION
#endif

namespace visionq::ops::cpu {

// Lanes per chunk of the linear kept list: one 64-byte cache line per coordinate (16 floats, 8 doubles).
template <typename T>
constexpr int kLanes = 64 / static_cast<int>(sizeof(T));
// Lanes per grid-cell chunk: 256 bytes per coordinate (64 floats). Bigger chunks mean fewer list hops; on
// 20k boxes, 16 / 32 / 64-lane cells took about 9 / 6.3 / 5.9 ms (bench/nms.py layout, one core).
template <typename T>
constexpr int kCellLanes = 256 / static_cast<int>(sizeof(T));

// A grid is built once this many boxes are kept, if at least kGridMinBoxes candidates remain (N = 1k: ~0.14 ms
// with the grid, ~0.2 ms linear).
constexpr int64_t kLinearMaxKept = 64;
constexpr int64_t kGridMinBoxes = 256;
// Grid cell side, as a multiple of the widest box binned in the grid (0.35 / 0.5 / 0.75 / 1.0 / 1.5 were tried:
// 1.0 was fastest at 5k and 20k).
constexpr double kCellFraction = 1.0;
// Cells per axis and cells per box, upper bounds that keep the grid's memory linear in N.
constexpr int64_t kMaxCellsPerAxis = 1024;
constexpr int64_t kCellsPerBox = 2;
// A candidate whose query spans more cells than this scans every kept box instead.
constexpr int64_t kMaxQueryCells = 64;
// Boxes binned in the grid are at most kOutlierFactor times the kSizeQuantile quantile of widths (heights),
// estimated on kSizeSamples evenly spaced boxes; larger ones are rare outliers kept in a list every candidate
// scans.
constexpr double kSizeQuantile = 0.9;
constexpr double kOutlierFactor = 2.0;
constexpr int64_t kSizeSamples = 1024;
// Slack, in cells, that absorbs the rounding of cell coordinates (which are exact to ~1e-12 cells).
constexpr double kCellMargin = 1e-6;
// The overlap bound of KeptGrid::plan is used from this threshold on, relaxed by this relative slack.
constexpr double kMinShrinkThreshold = 1e-3;
constexpr double kShrinkSlack = 1e-4;

// One run of sorted boxes as structure of arrays; area = (x2 - x1) * (y2 - y1) as torchvision computes it.
template <typename T>
struct BoxRun {
  const T* x1;
  const T* y1;
  const T* x2;
  const T* y2;
  const T* area;
  int64_t size;
};

template <typename T>
inline bool is_eligible(T x1, T y1, T x2, T y2) {
  return x2 > x1 && y2 > y1 && std::isfinite(x1) && std::isfinite(y1) && std::isfinite(x2) && std::isfinite(y2);
}

// Criteria as lane functions of (kept, candidate).
template <typename T>
struct IoUCriterion {
  static T value(T kx1, T ky1, T kx2, T ky2, T karea, T cx1, T cy1, T cx2, T cy2, T carea) {
    return detail::nms_iou(kx1, ky1, kx2, ky2, karea, cx1, cy1, cx2, cy2, carea);
  }
};

template <typename T>
struct DIoUCriterion {
  static T value(T kx1, T ky1, T kx2, T ky2, T /*karea*/, T cx1, T cy1, T cx2, T cy2, T /*carea*/) {
    return detail::seed_iou(detail::IoUKind::kDIoU, T(detail::kSeedEps), kx1, ky1, kx2, ky2, cx1, cy1, cx2, cy2);
  }
};

// Kept boxes in chunks of kLanes. Padding lanes hold NaN coordinates and area: they never suppress (the IoU and
// the DIoU of a NaN box are NaN, and NaN > threshold is false).
template <typename T>
struct KeptChunks {
  std::vector<T> x1, y1, x2, y2, area;
  std::vector<int64_t> position; // sorted position of each kept box
  int64_t size = 0;

  void reset() {
    for (auto* v : {&x1, &y1, &x2, &y2, &area}) {
      v->clear();
    }
    position.clear();
    size = 0;
  }

  void push(const BoxRun<T>& b, int64_t p) {
    if (size % kLanes<T> == 0) { // open a chunk of NaN lanes
      const T nan = std::numeric_limits<T>::quiet_NaN();
      for (auto* v : {&x1, &y1, &x2, &y2, &area}) {
        v->resize(size + kLanes<T>, nan);
      }
      position.resize(size + kLanes<T>, -1);
    }
    x1[size] = b.x1[p];
    y1[size] = b.y1[p];
    x2[size] = b.x2[p];
    y2[size] = b.y2[p];
    area[size] = b.area[p];
    position[size] = p;
    ++size;
  }

  int64_t chunks() const {
    return (size + kLanes<T> - 1) / kLanes<T>;
  }
};

// Does any lane of the chunk starting at `at` suppress candidate p? Branch-free so it vectorises.
template <typename T, typename Criterion>
inline bool chunk_suppresses(const KeptChunks<T>& k, int64_t at, const BoxRun<T>& b, int64_t p, T threshold) {
  const T cx1 = b.x1[p], cy1 = b.y1[p], cx2 = b.x2[p], cy2 = b.y2[p], carea = b.area[p];
  const T* kx1 = k.x1.data() + at;
  const T* ky1 = k.y1.data() + at;
  const T* kx2 = k.x2.data() + at;
  const T* ky2 = k.y2.data() + at;
  const T* karea = k.area.data() + at;
  int any = 0;
  for (int l = 0; l < kLanes<T>; ++l) {
    any |= Criterion::value(kx1[l], ky1[l], kx2[l], ky2[l], karea[l], cx1, cy1, cx2, cy2, carea) > threshold;
  }
  return any != 0;
}

// First lane of a chunk (in kept order) that suppresses candidate p, or -1.
template <typename T, typename Criterion>
inline int64_t first_suppressing_lane(const KeptChunks<T>& k, int64_t at, const BoxRun<T>& b, int64_t p, T threshold) {
  for (int l = 0; l < kLanes<T>; ++l) {
    const int64_t s = at + l;
    if (Criterion::value(k.x1[s], k.y1[s], k.x2[s], k.y2[s], k.area[s], b.x1[p], b.y1[p], b.x2[p], b.y2[p], b.area[p]) >
        threshold) {
      return s;
    }
  }
  return -1;
}

// Greedy NMS by scanning the kept boxes in order. keep[p] = 1 for kept positions. With `first` non-null,
// first[p] is p for a kept box and otherwise the first kept position (in sorted order) that suppresses p.
// skip_ineligible is only valid for threshold >= 0 (see the header comment).
template <typename T, typename Criterion>
VISIONQ_MULTIVERSION int64_t greedy_linear(const BoxRun<T>& b, T threshold, bool skip_ineligible, uint8_t* keep, int64_t* first) {
  KeptChunks<T> kept;
  int64_t num_kept = 0;
  for (int64_t p = 0; p < b.size; ++p) {
    if (skip_ineligible && !is_eligible(b.x1[p], b.y1[p], b.x2[p], b.y2[p])) {
      keep[p] = 1;
      if (first != nullptr) {
        first[p] = p;
      }
      ++num_kept;
      continue;
    }
    int64_t suppressor = -1;
    const int64_t chunks = kept.chunks();
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t at = c * kLanes<T>;
      if (chunk_suppresses<T, Criterion>(kept, at, b, p, threshold)) {
        suppressor = first != nullptr ? kept.position[first_suppressing_lane<T, Criterion>(kept, at, b, p, threshold)]
                                      : 0;
        break;
      }
    }
    if (suppressor < 0) {
      keep[p] = 1;
      kept.push(b, p);
      ++num_kept;
    } else {
      keep[p] = 0;
    }
    if (first != nullptr) {
      first[p] = suppressor < 0 ? p : suppressor;
    }
  }
  return num_kept;
}

// Uniform grid of kept boxes binned by their (x1, y1) corner; each cell is a linked list of chunks.
template <typename T>
class KeptGrid {
 public:
  // Sizes the grid from the eligible boxes of the run. Returns false when too few boxes make it worthwhile.
  bool plan(const BoxRun<T>& b, T threshold) {
    double x_lo = INFINITY, y_lo = INFINITY, x_hi = -INFINITY, y_hi = -INFINITY;
    double min_side = INFINITY, max_area = 0, max_w = 0, max_h = 0;
    int64_t eligible = 0;
    for (int64_t p = 0; p < b.size; ++p) {
      if (!is_eligible(b.x1[p], b.y1[p], b.x2[p], b.y2[p])) {
        continue;
      }
      const double x1 = b.x1[p], y1 = b.y1[p], x2 = b.x2[p], y2 = b.y2[p];
      ++eligible;
      max_w = std::max(max_w, x2 - x1);
      max_h = std::max(max_h, y2 - y1);
      min_side = std::min({min_side, x2 - x1, y2 - y1});
      max_area = std::max(max_area, (x2 - x1) * (y2 - y1));
      x_lo = std::min(x_lo, x1);
      y_lo = std::min(y_lo, y1);
      x_hi = std::max(x_hi, x2);
      y_hi = std::max(y_hi, y2);
    }
    if (eligible < kGridMinBoxes || !std::isfinite(x_hi - x_lo) || !std::isfinite(y_hi - y_lo)) {
      return false; // too few boxes, or float64 coordinates whose extent overflows
    }
    // The quantiles only size the grid (any value is exact), so a strided sample of the boxes is enough.
    std::vector<double> widths, heights;
    const int64_t stride = std::max<int64_t>(1, b.size / kSizeSamples);
    for (int64_t p = 0; p < b.size; p += stride) {
      if (is_eligible(b.x1[p], b.y1[p], b.x2[p], b.y2[p])) {
        widths.push_back(static_cast<double>(b.x2[p]) - b.x1[p]);
        heights.push_back(static_cast<double>(b.y2[p]) - b.y1[p]);
      }
    }
    reach_x_ = binned_size(widths, max_w);
    reach_y_ = binned_size(heights, max_h);
    // IoU > t needs an x-overlap above t * (candidate width), and likewise in y: inter = ox * oy > t * union
    // >= t * w * h with oy <= h. That holds for the exact IoU; the float IoU is within ~1e-6 of it while areas
    // stay far from underflow and overflow, hence the checks and the 1e-4 slack.
    const bool normal_range = min_side * min_side >= std::numeric_limits<T>::min() * 1e8 &&
        max_area <= std::numeric_limits<T>::max() / 8;
    shrink_ = normal_range && threshold >= T(kMinShrinkThreshold) ? threshold * (1 - kShrinkSlack) : 0.0;
    double cell_x = std::max(reach_x_ * kCellFraction, (x_hi - x_lo) / kMaxCellsPerAxis);
    double cell_y = std::max(reach_y_ * kCellFraction, (y_hi - y_lo) / kMaxCellsPerAxis);
    while (cells_along(x_hi - x_lo, cell_x) * cells_along(y_hi - y_lo, cell_y) > kCellsPerBox * eligible + 16) {
      cell_x *= 1.25;
      cell_y *= 1.25;
    }
    x0_ = x_lo;
    y0_ = y_lo;
    inv_x_ = 1.0 / cell_x;
    inv_y_ = 1.0 / cell_y;
    nx_ = cells_along(x_hi - x_lo, cell_x);
    ny_ = cells_along(y_hi - y_lo, cell_y);
    head_.assign(nx_ * ny_, -1);
    chunks_.clear();
    chunks_.reserve(eligible / kCellLanes<T> + nx_ * ny_);
    outliers_.reset();
    all_.reset();
    return true;
  }

  // Greedy NMS with the grid from position `from` on (IoU criterion, threshold >= 0 only); boxes kept before
  // `from` must have been inserted. Returns the number of boxes kept from `from` on.
  int64_t run(const BoxRun<T>& b, int64_t from, T threshold, uint8_t* keep) {
    int64_t num_kept = 0;
    for (int64_t p = from; p < b.size; ++p) {
      if (!is_eligible(b.x1[p], b.y1[p], b.x2[p], b.y2[p])) {
        keep[p] = 1;
        ++num_kept;
        continue;
      }
      if (is_suppressed(b, p, threshold)) {
        keep[p] = 0;
        continue;
      }
      keep[p] = 1;
      ++num_kept;
      insert(b, p);
    }
    return num_kept;
  }

  void insert(const BoxRun<T>& b, int64_t p) {
    all_.push(b, p);
    if (static_cast<double>(b.x2[p]) - b.x1[p] > reach_x_ || static_cast<double>(b.y2[p]) - b.y1[p] > reach_y_) {
      outliers_.push(b, p);
      return;
    }
    int32_t& head = head_[cell_y(b.y1[p]) * nx_ + cell_x(b.x1[p])];
    if (head < 0 || chunks_[head].size == kCellLanes<T>) {
      chunks_.push_back(empty_chunk(head));
      head = static_cast<int32_t>(chunks_.size() - 1);
    }
    Chunk& c = chunks_[head];
    c.x1[c.size] = b.x1[p];
    c.y1[c.size] = b.y1[p];
    c.x2[c.size] = b.x2[p];
    c.y2[c.size] = b.y2[p];
    c.lo_x = std::min(c.lo_x, b.x1[p]);
    c.lo_y = std::min(c.lo_y, b.y1[p]);
    c.hi_x = std::max(c.hi_x, b.x2[p]);
    c.hi_y = std::max(c.hi_y, b.y2[p]);
    ++c.size;
  }

 private:
  struct alignas(64) Chunk {
    T x1[kCellLanes<T>], y1[kCellLanes<T>], x2[kCellLanes<T>], y2[kCellLanes<T>]; // areas are recomputed
    T lo_x, lo_y, hi_x, hi_y; // extent of the members: a candidate outside it cannot intersect any of them
    int32_t previous;
    int32_t size;
  };

  static int64_t cells_along(double extent, double cell) {
    return std::min<int64_t>(kMaxCellsPerAxis, static_cast<int64_t>(extent / cell) + 1);
  }

  // Largest side binned in the grid: min(largest side, kOutlierFactor * the kSizeQuantile quantile).
  static double binned_size(std::vector<double>& sides, double largest) {
    if (sides.empty()) {
      return largest;
    }
    auto q = sides.begin() + static_cast<int64_t>(kSizeQuantile * (sides.size() - 1));
    std::nth_element(sides.begin(), q, sides.end());
    return std::min(largest, kOutlierFactor * *q);
  }

  int64_t cell_x(double x) const {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor((x - x0_) * inv_x_)), 0, nx_ - 1);
  }

  int64_t cell_y(double y) const {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor((y - y0_) * inv_y_)), 0, ny_ - 1);
  }

  VISIONQ_MULTIVERSION bool is_suppressed(const BoxRun<T>& b, int64_t p, T threshold) const {
    // Kept corner x1k lies in (x1c + s * wc - reach_x, x2c - s * wc), s = shrink_ (see plan); same in y.
    const double wc = static_cast<double>(b.x2[p]) - b.x1[p];
    const double hc = static_cast<double>(b.y2[p]) - b.y1[p];
    const double lo_x = std::floor((b.x1[p] - x0_) * inv_x_ + (shrink_ * wc - reach_x_) * inv_x_ - kCellMargin);
    const double lo_y = std::floor((b.y1[p] - y0_) * inv_y_ + (shrink_ * hc - reach_y_) * inv_y_ - kCellMargin);
    const double hi_x = std::floor((b.x2[p] - x0_) * inv_x_ - shrink_ * wc * inv_x_ + kCellMargin);
    const double hi_y = std::floor((b.y2[p] - y0_) * inv_y_ - shrink_ * hc * inv_y_ + kCellMargin);
    const auto x_from = static_cast<int64_t>(std::clamp<double>(lo_x, 0, nx_));
    const auto y_from = static_cast<int64_t>(std::clamp<double>(lo_y, 0, ny_));
    const auto x_to = static_cast<int64_t>(std::clamp<double>(hi_x, -1, nx_ - 1));
    const auto y_to = static_cast<int64_t>(std::clamp<double>(hi_y, -1, ny_ - 1));
    if (x_to >= x_from && y_to >= y_from && (x_to - x_from + 1) * (y_to - y_from + 1) > kMaxQueryCells) {
      return scan(all_, b, p, threshold);
    }
    if (scan(outliers_, b, p, threshold)) {
      return true;
    }
    for (int64_t cy = y_from; cy <= y_to; ++cy) {
      for (int64_t cx = x_from; cx <= x_to; ++cx) {
        for (int32_t c = head_[cy * nx_ + cx]; c >= 0; c = chunks_[c].previous) {
          const Chunk& k = chunks_[c];
          if (k.hi_x <= b.x1[p] || k.lo_x >= b.x2[p] || k.hi_y <= b.y1[p] || k.lo_y >= b.y2[p]) {
            continue; // no positive intersection with any member, so no IoU > threshold >= 0
          }
          if (chunk_hits(k, b, p, threshold)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  static bool scan(const KeptChunks<T>& k, const BoxRun<T>& b, int64_t p, T threshold) {
    const int64_t chunks = k.chunks();
    for (int64_t c = 0; c < chunks; ++c) {
      if (chunk_suppresses<T, IoUCriterion<T>>(k, c * kLanes<T>, b, p, threshold)) {
        return true;
      }
    }
    return false;
  }

  static bool chunk_hits(const Chunk& k, const BoxRun<T>& b, int64_t p, T threshold) {
    const T cx1 = b.x1[p], cy1 = b.y1[p], cx2 = b.x2[p], cy2 = b.y2[p], carea = b.area[p];
    int any = 0;
    for (int l = 0; l < kCellLanes<T>; ++l) {
      const T karea = detail::box_area(k.x1[l], k.y1[l], k.x2[l], k.y2[l]); // as torchvision precomputes it
      any |= detail::nms_iou(k.x1[l], k.y1[l], k.x2[l], k.y2[l], karea, cx1, cy1, cx2, cy2, carea) > threshold;
    }
    return any != 0;
  }

  static Chunk empty_chunk(int32_t previous) {
    Chunk c;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (int l = 0; l < kCellLanes<T>; ++l) {
      c.x1[l] = c.y1[l] = c.x2[l] = c.y2[l] = nan;
    }
    c.lo_x = c.lo_y = INFINITY;
    c.hi_x = c.hi_y = -INFINITY;
    c.previous = previous;
    c.size = 0;
    return c;
  }

  double x0_ = 0, y0_ = 0, inv_x_ = 1, inv_y_ = 1, reach_x_ = 0, reach_y_ = 0, shrink_ = 0;
  int64_t nx_ = 1, ny_ = 1;
  std::vector<int32_t> head_;
  std::vector<Chunk> chunks_;
  KeptChunks<T> outliers_;
  KeptChunks<T> all_;
};

// Does a kept box suppress candidate p? Scans the kept chunks in order, stopping at the first hit. (Skipping
// the divisions of chunks without any intersection was tried: slower on 10k boxes in 80 classes.)
template <typename T>
VISIONQ_MULTIVERSION bool linear_suppresses(const KeptChunks<T>& kept, const BoxRun<T>& b, int64_t p, T threshold) {
  const int64_t chunks = kept.chunks();
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t at = c * kLanes<T>;
    if (chunk_suppresses<T, IoUCriterion<T>>(kept, at, b, p, threshold)) {
      return true;
    }
  }
  return false;
}

// Hard NMS of one sorted run with torchvision's IoU; keep[p] = 1 for kept positions. Returns the kept count.
//
// The scan starts linear and moves to the grid once kLinearMaxKept boxes are kept: when nearly everything is
// suppressed (one dense cluster, exact duplicates, boxes covering the canvas) the first kept chunk holds every
// candidate's suppressor and a grid would only add its set-up.
template <typename T>
int64_t greedy_hard_nms(const BoxRun<T>& b, T threshold, uint8_t* keep) {
  if (threshold != threshold) {
    std::fill(keep, keep + b.size, uint8_t(1)); // NaN threshold: nothing is "greater than" it
    return b.size;
  }
  if (threshold < T(0)) {
    return greedy_linear<T, IoUCriterion<T>>(b, threshold, /*skip_ineligible=*/false, keep, nullptr);
  }
  KeptChunks<T> kept;
  int64_t num_kept = 0;
  int64_t p = 0;
  bool grid_tried = false;
  for (; p < b.size; ++p) {
    if (!grid_tried && kept.size >= kLinearMaxKept && b.size - p >= kGridMinBoxes) {
      grid_tried = true;
      KeptGrid<T> grid;
      if (grid.plan(b, threshold)) {
        for (int64_t s = 0; s < kept.size; ++s) {
          grid.insert(b, kept.position[s]);
        }
        return num_kept + grid.run(b, p, threshold, keep);
      }
    }
    const bool eligible = is_eligible(b.x1[p], b.y1[p], b.x2[p], b.y2[p]);
    keep[p] = !eligible || !linear_suppresses(kept, b, p, threshold);
    if (keep[p]) {
      ++num_kept;
      if (eligible) {
        kept.push(b, p);
      }
    }
  }
  return num_kept;
}

} // namespace visionq::ops::cpu

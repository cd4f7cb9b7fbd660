// How the CPU kernels lay boxes out: sorted by decreasing score (stable, torch's NaN-first order), grouped by
// class when there are class ids, gathered into contiguous coordinate arrays, one run per class.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <cstdint>
#include <vector>

#include "greedy.h"
#include "sort.h"

namespace visionq::ops::cpu {

// Boxes below this total run their classes on one thread: spawning costs more than it saves.
constexpr int64_t kParallelMinBoxes = 4096;

template <typename T>
struct SortedLayout {
  std::vector<int64_t> order;    // rank (global decreasing score) -> original index
  std::vector<int64_t> rank;     // position -> rank
  std::vector<int64_t> segments; // position boundaries of the class runs, size runs + 1
  std::vector<T> x1, y1, x2, y2, area;

  int64_t runs() const {
    return static_cast<int64_t>(segments.size()) - 1;
  }

  BoxRun<T> run(int64_t r) const {
    const int64_t begin = segments[r];
    return BoxRun<T>{
        x1.data() + begin, y1.data() + begin, x2.data() + begin, y2.data() + begin, area.data() + begin,
        segments[r + 1] - begin};
  }

  int64_t index(int64_t position) const {
    return order[rank[position]];
  }
};

// dets: contiguous [N, 4] of T; labels: nullable, N class ids.
template <typename T>
SortedLayout<T> make_layout(const T* dets, const T* scores, const int64_t* labels, int64_t n) {
  SortedLayout<T> l;
  l.order = descending_order(scores, n);
  if (labels == nullptr) {
    l.rank.resize(n);
    for (int64_t p = 0; p < n; ++p) {
      l.rank[p] = p;
    }
    l.segments = {0, n};
  } else {
    std::vector<uint64_t> keys(n);
    l.rank.resize(n);
    for (int64_t r = 0; r < n; ++r) {
      keys[r] = ascending_key(labels[l.order[r]]);
      l.rank[r] = r;
    }
    if (n > 1) {
      radix_sort_pairs(keys, l.rank); // class-major, decreasing score inside a class
    }
    l.segments.push_back(0);
    for (int64_t p = 1; p < n; ++p) {
      if (keys[p] != keys[p - 1]) {
        l.segments.push_back(p);
      }
    }
    l.segments.push_back(n);
  }
  for (auto* v : {&l.x1, &l.y1, &l.x2, &l.y2, &l.area}) {
    v->resize(n);
  }
  for (int64_t p = 0; p < n; ++p) {
    const T* box = dets + l.index(p) * 4;
    l.x1[p] = box[0];
    l.y1[p] = box[1];
    l.x2[p] = box[2];
    l.y2[p] = box[3];
    l.area[p] = detail::box_area(box[0], box[1], box[2], box[3]);
  }
  return l;
}

// Runs fn(run_index) for every class run, spread over at::parallel_for threads when the input is large.
template <typename T, typename Fn>
void for_each_run(const SortedLayout<T>& l, Fn fn) {
  const int64_t runs = l.runs();
  const int64_t n = l.segments.back();
  const int64_t grain = n < kParallelMinBoxes ? runs : 1;
  at::parallel_for(0, runs, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      fn(r);
    }
  });
}

// Original indices of the kept positions, by decreasing score (ties: lower index first).
template <typename T>
at::Tensor kept_indices(const SortedLayout<T>& l, const std::vector<uint8_t>& keep, std::vector<int64_t>* positions) {
  const int64_t n = static_cast<int64_t>(keep.size());
  std::vector<int64_t> by_rank(n, -1);
  int64_t count = 0;
  for (int64_t p = 0; p < n; ++p) {
    if (keep[p]) {
      by_rank[l.rank[p]] = p;
      ++count;
    }
  }
  auto result = at::empty({count}, at::TensorOptions().dtype(at::kLong));
  int64_t* out = result.data_ptr<int64_t>();
  for (int64_t r = 0; r < n; ++r) {
    if (by_rank[r] >= 0) {
      *out++ = l.order[r];
      if (positions != nullptr) {
        positions->push_back(by_rank[r]);
      }
    }
  }
  return result;
}

} // namespace visionq::ops::cpu

// The order torch.sort(descending=True) (not stable) gives equal scores on the CPU, without sorting everything.
//
// ATen's CPU sort is std::sort, libstdc++'s introsort: partition rounds (median of three moved to the front,
// unguarded Hoare partition, heapsort once 2 * floor(log2 n) levels are spent) down to segments of 16, then one
// insertion sort over the whole range. The insertion sort never swaps equal elements, and no element leaves its
// segment after a partition, so the final order of equal elements is their order once partitioning stops.
// replay_partitions() performs exactly those partition rounds, but only inside segments that still hold two
// elements whose key occurs more than once: elsewhere partitioning cannot change the relative order of equal
// elements. With few ties it touches each element about once, instead of log2(n) times.
#pragma once

#include <algorithm>
#include <cstdint>

namespace visionq::ops::cpu {

// libstdc++'s _S_threshold: shorter segments are left to the final insertion sort.
constexpr int64_t kIntrosortSegment = 16;

template <typename E, typename Less>
void move_median_to_first(E* result, E* a, E* b, E* c, const Less& less) {
  if (less(*a, *b)) {
    if (less(*b, *c)) {
      std::iter_swap(result, b);
    } else if (less(*a, *c)) {
      std::iter_swap(result, c);
    } else {
      std::iter_swap(result, a);
    }
  } else if (less(*a, *c)) {
    std::iter_swap(result, a);
  } else if (less(*b, *c)) {
    std::iter_swap(result, c);
  } else {
    std::iter_swap(result, b);
  }
}

template <typename E, typename Less>
E* unguarded_partition(E* first, E* last, const E* pivot, const Less& less) {
  while (true) {
    while (less(*first, *pivot)) {
      ++first;
    }
    --last;
    while (less(*pivot, *last)) {
      --last;
    }
    if (!(first < last)) {
      return first;
    }
    std::iter_swap(first, last);
    ++first;
  }
}

// floor(log2(n)) for n >= 1, std::__lg.
inline int floor_log2(int64_t n) {
  int result = 0;
  while (n > 1) {
    n >>= 1;
    ++result;
  }
  return result;
}

// Replays introsort's partition rounds on [first, last) where they can reorder equal elements; tied(e) says
// whether e's key occurs more than once in the whole range. Afterwards, a stable sort by key gives std::sort's
// exact result.
template <typename E, typename Less, typename Tied>
void replay_partitions(E* first, E* last, int depth_limit, const Less& less, const Tied& tied) {
  while (last - first > kIntrosortSegment) {
    int tied_seen = 0;
    for (const E* p = first; p != last && tied_seen < 2; ++p) {
      tied_seen += tied(*p) ? 1 : 0;
    }
    if (tied_seen < 2) {
      return;
    }
    if (depth_limit == 0) {
      std::partial_sort(first, last, last, less); // introsort's heapsort fallback is this very call
      return;
    }
    --depth_limit;
    E* mid = first + (last - first) / 2;
    move_median_to_first(first, first + 1, mid, last - 1, less);
    E* cut = unguarded_partition(first + 1, last, first, less);
    replay_partitions(cut, last, depth_limit, less, tied);
    last = cut;
  }
}

template <typename E, typename Less, typename Tied>
void replay_introsort_partitions(E* first, E* last, const Less& less, const Tied& tied) {
  if (last - first > 1) {
    replay_partitions(first, last, 2 * floor_log2(last - first), less, tied);
  }
}

} // namespace visionq::ops::cpu

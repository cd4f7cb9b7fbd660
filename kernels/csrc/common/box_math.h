// Per-pair box formulas shared by the CPU kernels, the CUDA kernels and the CPU harness of the CUDA grid.
//
// Two families live here, on purpose with different NaN rules:
// - `nms_iou` is torchvision's hard-NMS overlap (csrc/ops/cpu/nms_kernel.cpp): std::max/std::min semantics,
//   areas (x2 - x1) * (y2 - y1), no epsilon. Hard NMS must reproduce torchvision bit for bit, so the operand
//   order below is the one torchvision evaluates, with the kept box first.
// - `seed_iou` is the seed's bbox_iou (seeds/001 L381-425): IoU, GIoU, DIoU and CIoU with its 1e-16 epsilons,
//   written with torch's NaN-propagating minimum/maximum/clamp so it matches the pure-torch formula.
#pragma once

#include <cmath>

#include "macros.h"

namespace visionq::ops::detail {

// std::max(a, b) exactly: returns a unless a < b (so a NaN in b is ignored, a NaN in a is kept).
template <typename T>
VISIONQ_HD T std_max(T a, T b) {
  return a < b ? b : a;
}

// std::min(a, b) exactly: returns a unless b < a.
template <typename T>
VISIONQ_HD T std_min(T a, T b) {
  return b < a ? b : a;
}

template <typename T>
VISIONQ_HD T box_area(T x1, T y1, T x2, T y2) {
  return (x2 - x1) * (y2 - y1);
}

// torchvision's IoU of a kept box `a` against a candidate `b`, with precomputed areas.
template <typename T>
VISIONQ_HD T nms_iou(T ax1, T ay1, T ax2, T ay2, T a_area, T bx1, T by1, T bx2, T by2, T b_area) {
  const T w = std_max(T(0), std_min(ax2, bx2) - std_max(ax1, bx1));
  const T h = std_max(T(0), std_min(ay2, by2) - std_max(ay1, by1));
  const T inter = w * h;
  return inter / (a_area + b_area - inter);
}

// torch.maximum / torch.minimum / clamp(min=0): a NaN operand gives NaN.
template <typename T>
VISIONQ_HD T nan_max(T a, T b) {
  return (a > b || a != a) ? a : b;
}

template <typename T>
VISIONQ_HD T nan_min(T a, T b) {
  return (a < b || a != a) ? a : b;
}

template <typename T>
VISIONQ_HD T clamp_min0(T v) {
  return v < T(0) ? T(0) : v;
}

VISIONQ_HD float vq_atan(float x) {
  return atanf(x);
}

VISIONQ_HD double vq_atan(double x) {
  return atan(x);
}

VISIONQ_HD float vq_exp(float x) {
  return expf(x);
}

VISIONQ_HD double vq_exp(double x) {
  return exp(x);
}

// Values of the `kind` argument of visionq::pairwise_iou.
enum class IoUKind : int { kIoU = 0, kGIoU = 1, kDIoU = 2, kCIoU = 3 };

// The seed's epsilon (bbox_iou, seeds/001 L402, L409, L413).
constexpr double kSeedEps = 1e-16;

// 4 / pi^2, the CIoU aspect-ratio constant (Zheng et al., "Distance-IoU Loss", eq. 9).
constexpr double kFourOverPiSquared = 0.40528473456935108578;

// bbox_iou(box1=a, box2=b, GIoU/DIoU/CIoU) from the seed, boxes as x1 y1 x2 y2.
// CIoU's alpha gets `eps` in its denominator, (1 - iou + v) + eps: the seed has none there and returns NaN
// for two identical boxes (v = 0, iou = 1); torchvision's complete_box_iou adds eps the same way.
template <typename T>
VISIONQ_HD T seed_iou(IoUKind kind, T eps, T ax1, T ay1, T ax2, T ay2, T bx1, T by1, T bx2, T by2) {
  const T inter =
      clamp_min0(nan_min(ax2, bx2) - nan_max(ax1, bx1)) * clamp_min0(nan_min(ay2, by2) - nan_max(ay1, by1));
  const T w1 = ax2 - ax1;
  const T h1 = ay2 - ay1;
  const T w2 = bx2 - bx1;
  const T h2 = by2 - by1;
  const T uni = (w1 * h1 + eps) + w2 * h2 - inter;
  const T iou = inter / uni;
  if (kind == IoUKind::kIoU) {
    return iou;
  }
  const T cw = nan_max(ax2, bx2) - nan_min(ax1, bx1); // smallest enclosing box
  const T ch = nan_max(ay2, by2) - nan_min(ay1, by1);
  if (kind == IoUKind::kGIoU) {
    const T c_area = cw * ch + eps;
    return iou - (c_area - uni) / c_area;
  }
  const T c2 = cw * cw + ch * ch + eps; // enclosing diagonal squared
  const T dx = (bx1 + bx2) - (ax1 + ax2);
  const T dy = (by1 + by2) - (ay1 + ay2);
  const T rho2 = dx * dx / T(4) + dy * dy / T(4); // centre distance squared
  if (kind == IoUKind::kDIoU) {
    return iou - rho2 / c2;
  }
  const T dv = vq_atan(w2 / h2) - vq_atan(w1 / h1);
  const T v = T(kFourOverPiSquared) * (dv * dv);
  const T alpha = v / ((T(1) - iou + v) + eps);
  return iou - (rho2 / c2 + v * alpha);
}

// Largest T that is <= threshold. For every T value x, x > threshold (compared in double, as torchvision's
// CPU kernel does) iff x > round_down_threshold<T>(threshold); NaN stays NaN and suppresses nothing.
template <typename T>
inline T round_down_threshold(double threshold) {
  T t = static_cast<T>(threshold);
  if (static_cast<double>(t) > threshold) {
    t = std::nextafter(t, -INFINITY);
  }
  return t;
}

} // namespace visionq::ops::detail

// Schemas of the NMS variants; kernels are in cpu/nms_variants_kernel.cpp, cuda/nms_kernel.cu and
// cuda/soft_nms_kernel.cu. With idxs, each variant runs per class (boxes of different idxs never interact).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(visionq, m) {
  // Greedy NMS on the seed's DIoU (1e-16 epsilons): a box is dropped when its DIoU with a kept box > threshold.
  m.def("diou_nms(Tensor dets, Tensor scores, Tensor? idxs, float iou_threshold) -> Tensor");
  // Hard NMS whose kept boxes become the score-weighted mean of their cluster. Returns (keep, merged_boxes).
  m.def("merge_nms(Tensor dets, Tensor scores, Tensor? idxs, float iou_threshold) -> (Tensor, Tensor)");
  // Hard NMS that only outputs kept boxes overlapping a box still in play with IoU > min_overlap.
  m.def("and_nms(Tensor dets, Tensor scores, Tensor? idxs, float iou_threshold, float min_overlap) -> Tensor");
  // Soft-NMS, method "gaussian" or "linear". Returns (keep, decayed_scores) by decreasing decayed score.
  m.def(
      "soft_nms(Tensor dets, Tensor scores, Tensor? idxs, float iou_threshold, float sigma, str method, "
      "float score_threshold) -> (Tensor, Tensor)");
  // Test hook: the CUDA soft-NMS kernel's per-thread logic run on the CPU over its whole grid.
  m.def(
      "_soft_nms_cpu_harness(Tensor dets, Tensor scores, Tensor? idxs, float iou_threshold, float sigma, "
      "str method, float score_threshold) -> (Tensor, Tensor)");
}

// Schemas of the hard-NMS ops; kernels are in cpu/nms_kernel.cpp and cuda/nms_kernel.cu.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(visionq, m) {
  // Greedy NMS; keeps torchvision.ops.nms's indices and order.
  m.def("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor");
  // Per-class NMS (boxes of different idxs never suppress each other), kept indices by decreasing score, ties
  // by increasing index; with torchvision_tie_order, tied scores in the order of torchvision's per-class path
  // (an unstable sort of the kept scores).
  m.def(
      "batched_nms(Tensor dets, Tensor scores, Tensor idxs, float iou_threshold, bool torchvision_tie_order=False) "
      "-> Tensor");
  // Test hook: the CUDA greedy-NMS pipeline (mask kernel, device reduction, merge/and passes) run on the CPU
  // over its whole grid. variant: "nms", "diou", "merge" or "and". Returns (keep, merged_boxes).
  m.def(
      "_nms_mask_cpu_harness(Tensor dets, Tensor scores, Tensor? idxs, float iou_threshold, str variant, "
      "float min_overlap) -> (Tensor, Tensor)");
}

// Schema of the pairwise IoU family; kernels are in cpu/box_iou_kernel.cpp and cuda/box_iou_kernel.cu.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(visionq, m) {
  // The seed's bbox_iou for every pair (boxes1[i], boxes2[j]); kind: "iou", "giou", "diou" or "ciou".
  m.def("pairwise_iou(Tensor boxes1, Tensor boxes2, str kind, float eps) -> Tensor");
}

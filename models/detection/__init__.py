"""Object detection: the demo YOLO-style detector and torchvision detectors, served on our NMS kernels."""

"""Super-resolution: bicubic baseline and the SRResNet demo, tiled for any image size."""

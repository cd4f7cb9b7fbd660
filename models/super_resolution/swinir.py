"""SwinIR for image super-resolution (Liang et al. 2021, "SwinIR: Image Restoration Using Swin Transformer",
arXiv 2108.10257).

Written from the official repository, JingyunLiang/SwinIR `models/network_swinir.py` (commit 33f6166), and
laid out so that its released checkpoints load key for key: the state_dict keys, shapes and buffers
(`attn.relative_position_index` in every block, `attn_mask` in every shifted block, sized for the training
patch) are exactly those of the official `SwinIR(...)` built with the same constructor arguments; see
`swinir_weights.py` and `tests/models/super_resolution/test_swinir.py`, which checks them against
`/work/shared/checkpoint-layouts.json`.

Shallow conv -> residual Swin Transformer blocks (RSTB) -> conv + long skip -> reconstruction, where the
reconstruction is one of the three super-resolution upsamplers of the official model:
- "pixelshuffle" (classical SR, SwinIR-M): conv -> LeakyReLU -> (conv -> PixelShuffle) steps -> conv;
- "pixelshuffledirect" (lightweight SR, SwinIR-S): one conv -> PixelShuffle, to save parameters;
- "nearest+conv" (real-world SR, x4 only): two nearest x2 upsamplings, each followed by a conv (fewer
  checkerboard artefacts under GAN training).

Differences from the official module, none of which changes a key or an output:
- the attention mask of the shifted windows is computed for the actual (padded) input size at every forward
  call and passed down; the official `attn_mask` buffers are kept only so checkpoints load strictly;
- `forward` pads H and W to a multiple of the window by mirroring and crops the output back, which the
  official code leaves to its test script (`main_test_swinir.py`);
- the DIV2K mean is a non-persistent buffer instead of an attribute reassigned in `forward`;
- dropout, stochastic depth, absolute position embeddings, gradient checkpointing, FLOP counters and the
  unused `PatchMerging` are left out: they are training options or dead code, and own no checkpoint keys;
- the denoising / JPEG variants (`upsampler=""`) are out of scope for the super-resolution task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: RGB mean of DIV2K on a [0, 1] scale, subtracted before the network and added back after (official model).
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)
#: Channels of the reconstruction convs for "pixelshuffle" and "nearest+conv" (official `num_feat = 64`).
RECONSTRUCTION_CHANNELS = 64
#: Attention logit added between tokens of different regions of a shifted window; the official value, not -inf.
MASKED_LOGIT = -100.0


def window_partition(x: Tensor, window_size: int) -> Tensor:
    """Cut a feature map into non-overlapping square windows.

    Args:
        x: Tensor[B, H, W, C], H and W multiples of `window_size`.
        window_size: side of a window in pixels.

    Returns:
        Tensor[B * H/ws * W/ws, ws, ws, C], windows in row-major order per image.
    """
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window_size, window_size, width // window_size, window_size, channels)
    # (B, H/ws, W/ws, ws, ws, C) -> (B * nW, ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size, window_size, channels)


def window_reverse(windows: Tensor, window_size: int, height: int, width: int) -> Tensor:
    """Inverse of `window_partition`.

    Args:
        windows: Tensor[B * H/ws * W/ws, ws, ws, C].
        window_size: side of a window in pixels.
        height: H of the feature map.
        width: W of the feature map.

    Returns:
        Tensor[B, H, W, C].
    """
    channels = windows.shape[-1]
    x = windows.view(-1, height // window_size, width // window_size, window_size, window_size, channels)
    # (B, H/ws, ws, W/ws, ws, C) -> (B, H, W, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


def relative_position_index(window_size: int) -> Tensor:
    """Index into the (2ws-1)^2 relative-position bias table for every pair of tokens of a window.

    Args:
        window_size: side of a window in pixels.

    Returns:
        Tensor[ws*ws, ws*ws] (int64): `(dy + ws - 1) * (2ws - 1) + (dx + ws - 1)` for tokens i, j in row-major
        order, with (dy, dx) the offset of i from j, as the official buffer.
    """
    coords = torch.arange(window_size)
    rows = coords.repeat_interleave(window_size)  # (N,) row of each token
    cols = coords.repeat(window_size)  # (N,) column of each token
    delta_rows = rows[:, None] - rows[None, :] + window_size - 1  # (N, N), in [0, 2ws-2]
    delta_cols = cols[:, None] - cols[None, :] + window_size - 1
    return delta_rows * (2 * window_size - 1) + delta_cols


def shifted_window_mask(height: int, width: int, window_size: int, shift_size: int) -> Tensor:
    """Attention mask of the shifted windows (Swin Transformer, Liu et al. 2021, section 3.2).

    After the cyclic shift by `shift_size`, windows on the bottom and right edges hold pixels from up to
    three regions per axis that were not neighbours in the image; tokens may attend only within their region.

    Args:
        height: H of the (padded) feature map, a multiple of `window_size`.
        width: W of the (padded) feature map, a multiple of `window_size`.
        window_size: side of a window in pixels.
        shift_size: cyclic shift in pixels, 0 < shift_size < window_size.

    Returns:
        Tensor[H/ws * W/ws, ws*ws, ws*ws] (float32): 0 within a region, `MASKED_LOGIT` across regions.
    """

    def regions(length: int) -> Tensor:
        label = torch.zeros(length)
        label[length - window_size : length - shift_size] = 1
        label[length - shift_size :] = 2
        return label

    labels = regions(height)[:, None] * 3 + regions(width)[None, :]  # (H, W), 9 regions
    windows = window_partition(labels[None, :, :, None], window_size)  # (nW, ws, ws, 1)
    windows = windows.reshape(-1, window_size * window_size)  # (nW, N)
    different = windows[:, None, :] != windows[:, :, None]  # (nW, N, N)
    return torch.zeros(different.shape).masked_fill(different, MASKED_LOGIT)


def pad_to_multiple(image: Tensor, multiple: int) -> Tensor:
    """Pad the bottom and right of an image to multiples of `multiple` by mirroring (edge pixel repeated).

    The official test script pads by concatenating the flipped image (`torch.cat([x, torch.flip(x, [2])], 2)`),
    i.e. symmetric padding; this does the same with an index map, which also works when the pad is wider than
    the image. Unlike the script, an already aligned side gets no pad (the script adds a whole window).

    Args:
        image: Tensor[B, C, H, W].
        multiple: the alignment, the window size.

    Returns:
        Tensor[B, C, ceil(H/m)*m, ceil(W/m)*m], equal to `image` on its top-left H x W.
    """
    height, width = image.shape[-2:]

    def mirror_index(length: int) -> Tensor:
        target = -(-length // multiple) * multiple
        position = torch.arange(target, device=image.device) % (2 * length)  # period of a symmetric extension
        return torch.where(position < length, position, 2 * length - 1 - position)

    if height % multiple:
        image = image.index_select(-2, mirror_index(height))
    if width % multiple:
        image = image.index_select(-1, mirror_index(width))
    return image


class Mlp(nn.Module):
    """Token-wise feed-forward network: Linear -> GELU -> Linear."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a window, with a learned relative-position bias per head."""

    def __init__(self, dim: int, window_size: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.window_size = window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attend within each window.

        Args:
            x: Tensor[B * nW, N, C], the N = ws*ws tokens of every window.
            mask: Tensor[nW, N, N] added to the logits (0 or `MASKED_LOGIT`), or None for unshifted windows.

        Returns:
            Tensor[B * nW, N, C].
        """
        windows, tokens, channels = x.shape
        heads = self.num_heads
        # (B*nW, N, 3C) -> (3, B*nW, heads, N, C/heads)
        qkv = self.qkv(x).reshape(windows, tokens, 3, heads, channels // heads).permute(2, 0, 3, 1, 4)
        query, key, value = qkv.unbind(0)

        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]  # (N*N, heads)
        bias = bias.view(tokens, tokens, heads).permute(2, 0, 1)  # (heads, N, N)
        if mask is None:
            out = F.scaled_dot_product_attention(query, key, value, attn_mask=bias.to(query.dtype))
        else:
            num_windows = mask.shape[0]
            logits_bias = (bias[None] + mask[:, None]).to(query.dtype)  # (nW, heads, N, N)
            # (B*nW, heads, N, hd) -> (B, nW, heads, N, hd), so the mask broadcasts over the batch
            query, key, value = (t.view(-1, num_windows, heads, tokens, channels // heads) for t in (query, key, value))
            out = F.scaled_dot_product_attention(query, key, value, attn_mask=logits_bias)
            out = out.view(windows, heads, tokens, channels // heads)
        # (B*nW, heads, N, hd) -> (B*nW, N, C)
        return self.proj(out.transpose(1, 2).reshape(windows, tokens, channels))


class SwinTransformerBlock(nn.Module):
    """Pre-norm (shifted) window attention and MLP, each with a residual connection."""

    def __init__(
        self, dim: int, num_heads: int, window_size: int, shift_size: int, mlp_ratio: float, img_size: int
    ) -> None:
        super().__init__()
        self.window_size = window_size
        self.shift_size = shift_size
        # Layout only: forward uses the mask of the actual input size, passed in by SwinIR.forward_features.
        # A buffer of None is left out of the state_dict, as the official unshifted blocks have no attn_mask.
        mask = shifted_window_mask(img_size, img_size, window_size, shift_size) if shift_size else None
        self.register_buffer("attn_mask", mask)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, size: tuple[int, int], mask: Tensor | None) -> Tensor:
        """Apply the block.

        Args:
            x: Tensor[B, H*W, C] tokens in row-major order.
            size: (H, W), multiples of the window size.
            mask: `shifted_window_mask` for (H, W), used if this block shifts.

        Returns:
            Tensor[B, H*W, C].
        """
        height, width = size
        batch, _, channels = x.shape
        shift, window = self.shift_size, self.window_size

        image = self.norm1(x).view(batch, height, width, channels)
        if shift:
            image = torch.roll(image, shifts=(-shift, -shift), dims=(1, 2))
        windows = window_partition(image, window).view(-1, window * window, channels)  # (B*nW, N, C)
        windows = self.attn(windows, mask if shift else None)
        image = window_reverse(windows.view(-1, window, window, channels), window, height, width)  # (B, H, W, C)
        if shift:
            image = torch.roll(image, shifts=(shift, shift), dims=(1, 2))

        x = x + image.reshape(batch, height * width, channels)
        return x + self.mlp(self.norm2(x))


class BasicLayer(nn.Module):
    """`depth` Swin blocks alternating regular and shifted (by half a window) windows."""

    def __init__(self, dim: int, depth: int, num_heads: int, window_size: int, mlp_ratio: float, img_size: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(
                dim,
                num_heads,
                window_size,
                shift_size=window_size // 2 if i % 2 else 0,
                mlp_ratio=mlp_ratio,
                img_size=img_size,
            )
            for i in range(depth)
        )

    def forward(self, x: Tensor, size: tuple[int, int], mask: Tensor | None) -> Tensor:
        for block in self.blocks:
            x = block(x, size, mask)
        return x


def residual_conv(dim: int, resi_connection: str) -> nn.Module:
    """The conv closing an RSTB and the body: one 3x3 conv ("1conv"), or a bottleneck ("3conv", SwinIR-L)."""
    if resi_connection == "1conv":
        return nn.Conv2d(dim, dim, 3, padding=1)
    return nn.Sequential(
        nn.Conv2d(dim, dim // 4, 3, padding=1),
        nn.LeakyReLU(negative_slope=0.2, inplace=True),
        nn.Conv2d(dim // 4, dim // 4, 1),
        nn.LeakyReLU(negative_slope=0.2, inplace=True),
        nn.Conv2d(dim // 4, dim, 3, padding=1),
    )


def tokens_to_image(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Tensor[B, H*W, C] -> Tensor[B, C, H, W] (the official PatchUnEmbed with patch size 1)."""
    batch, _, channels = x.shape
    return x.transpose(1, 2).reshape(batch, channels, *size)


class RSTB(nn.Module):
    """Residual Swin Transformer Block: Swin blocks -> conv, plus the block's input."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float,
        img_size: int,
        resi_connection: str,
    ) -> None:
        super().__init__()
        self.residual_group = BasicLayer(dim, depth, num_heads, window_size, mlp_ratio, img_size)
        self.conv = residual_conv(dim, resi_connection)

    def forward(self, x: Tensor, size: tuple[int, int], mask: Tensor | None) -> Tensor:
        """Tensor[B, H*W, C] -> Tensor[B, H*W, C]."""
        features = self.conv(tokens_to_image(self.residual_group(x, size, mask), size))  # (B, C, H, W)
        return features.flatten(2).transpose(1, 2) + x


class PatchEmbed(nn.Module):
    """Feature map to tokens (patch size 1), then LayerNorm (the official `patch_norm=True`)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        """Tensor[B, C, H, W] -> Tensor[B, H*W, C]."""
        return self.norm(x.flatten(2).transpose(1, 2))


class Upsample(nn.Sequential):
    """PixelShuffle upsampling by 2^n (n steps of x2) or 3, keeping `channels` (official `Upsample`)."""

    def __init__(self, scale: int, channels: int) -> None:
        layers: list[nn.Module] = []
        if scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [nn.Conv2d(channels, 9 * channels, 3, padding=1), nn.PixelShuffle(3)]
        else:
            raise ValueError(f"pixelshuffle upsamples by 2^n or 3; got upscale {scale}")
        super().__init__(*layers)


@dataclass(frozen=True)
class SwinIRConfig:
    """Constructor arguments of the official `SwinIR`; the defaults are the released classical SwinIR-M x2."""

    upscale: int = 2
    in_chans: int = 3
    # Training patch size: it sizes the attn_mask buffers of the checkpoint, not the inputs the model accepts.
    img_size: int = 64
    window_size: int = 8  # all released SR models; the official constructor's default of 7 is for JPEG
    img_range: float = 1.0  # inputs are scaled by this after subtracting the mean (255.0 only for JPEG models)
    depths: tuple[int, ...] = (6, 6, 6, 6, 6, 6)  # Swin blocks per RSTB; SwinIR-M has six RSTBs of six
    embed_dim: int = 180  # SwinIR-M; SwinIR-S uses 60, SwinIR-L 240
    num_heads: tuple[int, ...] = (6, 6, 6, 6, 6, 6)  # heads per RSTB, one entry per entry of depths
    mlp_ratio: float = 2.0  # all released models; the official constructor's default of 4 (Swin's) is unused
    upsampler: str = "pixelshuffle"  # "pixelshuffle" | "pixelshuffledirect" | "nearest+conv"
    resi_connection: str = "1conv"  # "1conv" | "3conv" (SwinIR-L, to save parameters)

    def __post_init__(self) -> None:
        if self.upsampler not in ("pixelshuffle", "pixelshuffledirect", "nearest+conv"):
            raise ValueError(
                f"upsampler should be 'pixelshuffle', 'pixelshuffledirect' or 'nearest+conv', got {self.upsampler!r}"
            )
        if self.upsampler == "nearest+conv" and self.upscale != 4:
            raise ValueError(f"upsampler 'nearest+conv' upscales by 4 only (official model), got {self.upscale}")
        if self.resi_connection not in ("1conv", "3conv"):
            raise ValueError(f"resi_connection should be '1conv' or '3conv', got {self.resi_connection!r}")
        if len(self.depths) != len(self.num_heads):
            raise ValueError(f"depths {self.depths} and num_heads {self.num_heads} should have the same length")
        if self.img_size <= self.window_size:
            # The official model then shrinks the window to img_size; no released model does, so refuse it.
            raise ValueError(f"img_size {self.img_size} should exceed window_size {self.window_size}")


# Official releases (JingyunLiang/SwinIR, README "Testing" and `define_model` in main_test_swinir.py).
_SWINIR_S = {"embed_dim": 60, "depths": (6, 6, 6, 6), "num_heads": (6, 6, 6, 6), "upsampler": "pixelshuffledirect"}
SWINIR_VARIANTS: dict[str, SwinIRConfig] = {
    # Classical SR, SwinIR-M trained on DF2K with 64x64 patches (the better of the two classical releases).
    **{f"classical_x{s}": SwinIRConfig(upscale=s, img_size=64) for s in (2, 3, 4, 8)},
    # Classical SR, SwinIR-M trained on DIV2K with 48x48 patches (the paper's Table 2 setting).
    **{f"classical_s48_x{s}": SwinIRConfig(upscale=s, img_size=48) for s in (2, 3, 4, 8)},
    **{f"lightweight_x{s}": SwinIRConfig(upscale=s, img_size=64, **_SWINIR_S) for s in (2, 3, 4)},
    "real_x4": SwinIRConfig(upscale=4, img_size=64, upsampler="nearest+conv"),
}
OFFICIAL_FILES: dict[str, str] = {
    **{f"classical_x{s}": f"001_classicalSR_DF2K_s64w8_SwinIR-M_x{s}.pth" for s in (2, 3, 4, 8)},
    **{f"classical_s48_x{s}": f"001_classicalSR_DIV2K_s48w8_SwinIR-M_x{s}.pth" for s in (2, 3, 4, 8)},
    **{f"lightweight_x{s}": f"002_lightweightSR_DIV2K_s64w8_SwinIR-S_x{s}.pth" for s in (2, 3, 4)},
    "real_x4": "003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth",
}


class SwinIR(nn.Module):
    """SwinIR for super-resolution, with the official module names (see the module docstring)."""

    def __init__(self, config: SwinIRConfig) -> None:
        super().__init__()
        self.config = config
        dim, channels = config.embed_dim, config.in_chans
        mean = DIV2K_RGB_MEAN if channels == 3 else (0.0,) * channels
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, channels, 1, 1), persistent=False)

        # 1. shallow features
        self.conv_first = nn.Conv2d(channels, dim, 3, padding=1)
        # 2. deep features
        self.patch_embed = PatchEmbed(dim)
        self.layers = nn.ModuleList(
            RSTB(dim, depth, heads, config.window_size, config.mlp_ratio, config.img_size, config.resi_connection)
            for depth, heads in zip(config.depths, config.num_heads, strict=True)
        )
        self.norm = nn.LayerNorm(dim)
        self.conv_after_body = residual_conv(dim, config.resi_connection)
        # 3. reconstruction
        features = RECONSTRUCTION_CHANNELS
        if config.upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(dim, features, 3, padding=1), nn.LeakyReLU(inplace=True)
            )
            self.upsample = Upsample(config.upscale, features)
            self.conv_last = nn.Conv2d(features, channels, 3, padding=1)
        elif config.upsampler == "pixelshuffledirect":
            self.upsample = nn.Sequential(
                nn.Conv2d(dim, config.upscale**2 * channels, 3, padding=1), nn.PixelShuffle(config.upscale)
            )
        else:
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(dim, features, 3, padding=1), nn.LeakyReLU(inplace=True)
            )
            self.conv_up1 = nn.Conv2d(features, features, 3, padding=1)
            self.conv_up2 = nn.Conv2d(features, features, 3, padding=1)
            self.conv_hr = nn.Conv2d(features, features, 3, padding=1)
            self.conv_last = nn.Conv2d(features, channels, 3, padding=1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # Official initialisation: truncated normal Linear weights, zero biases (LayerNorm's default is 1, 0).
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Deep features. Tensor[B, C, H, W] -> Tensor[B, C, H, W], H and W multiples of the window size."""
        size = (x.shape[2], x.shape[3])
        window = self.config.window_size
        mask = shifted_window_mask(*size, window, window // 2).to(x.device) if window // 2 else None
        tokens = self.patch_embed(x)  # (B, H*W, C)
        for layer in self.layers:
            tokens = layer(tokens, size, mask)
        return tokens_to_image(self.norm(tokens), size)

    def reconstruct(self, features: Tensor) -> Tensor:
        """Tensor[B, embed_dim, H, W] -> Tensor[B, in_chans, H*s, W*s], still mean-subtracted and scaled."""
        upsampler = self.config.upsampler
        if upsampler == "pixelshuffle":
            return self.conv_last(self.upsample(self.conv_before_upsample(features)))
        if upsampler == "pixelshuffledirect":
            return self.upsample(features)
        x = self.conv_before_upsample(features)
        x = self.lrelu(self.conv_up1(F.interpolate(x, scale_factor=2, mode="nearest")))
        x = self.lrelu(self.conv_up2(F.interpolate(x, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(x)))

    def forward(self, image: Tensor) -> Tensor:
        """Super-resolve a batch.

        Args:
            image: Tensor[B, in_chans, H, W], float in [0, 1], any H and W.

        Returns:
            Tensor[B, in_chans, H*upscale, W*upscale], float, not clamped (the official test script clamps to
            [0, 1] before quantising).
        """
        height, width = image.shape[-2:]
        scale, img_range = self.config.upscale, self.config.img_range
        mean = self.pixel_mean.to(image.dtype)
        x = (pad_to_multiple(image, self.config.window_size) - mean) * img_range

        shallow = self.conv_first(x)
        features = self.conv_after_body(self.forward_features(shallow)) + shallow
        out = self.reconstruct(features) / img_range + mean
        return out[..., : height * scale, : width * scale]

// Host entry points of the CUDA kernels, defined in the .cu files and called from cuda/ops.cpp. Plain
// pointers and the caller's stream, no torch types: the .cu files stay free of ATen headers, which keeps
// nvcc's share of the build to seconds. Each returns the launch's cudaGetLastError().
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "../common/box_math.h"
#include "../common/nms_grid.h"

namespace visionq::ops::cuda {

// Suppression words of the upper triangle of 64 x 64 blocks (nms_kernel.cu).
template <typename T>
cudaError_t launch_nms_mask(
    int64_t n,
    int64_t col_blocks,
    const T* boxes,
    const int64_t* labels,
    detail::Criterion criterion,
    T threshold,
    detail::mask_t* mask,
    cudaStream_t stream);

// The greedy pass over the mask, in one block; keep_words gets the kept bits.
cudaError_t launch_nms_reduce(
    int64_t n,
    int64_t col_blocks,
    const detail::mask_t* mask,
    detail::mask_t* removed,
    detail::mask_t* keep_words,
    cudaStream_t stream);

// First kept suppressor of every box (itself when kept).
cudaError_t launch_nms_assign(
    int64_t n,
    int64_t col_blocks,
    const detail::mask_t* mask,
    const detail::mask_t* keep_words,
    int64_t* assign,
    cudaStream_t stream);

template <typename T>
cudaError_t launch_nms_merge(
    int64_t num_kept,
    const int64_t* kept,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const T* scores,
    T* out,
    cudaStream_t stream);

template <typename T>
cudaError_t launch_nms_and(
    int64_t num_kept,
    const int64_t* kept,
    int64_t n,
    const int64_t* assign,
    const T* boxes,
    const int64_t* labels,
    T overlap_threshold,
    uint8_t* out,
    cudaStream_t stream);

// One block per class segment (soft_nms_kernel.cu).
template <typename T>
cudaError_t launch_soft_nms(
    int64_t segments,
    const int64_t* begins,
    const int64_t* ends,
    const T* boxes,
    T* current,
    uint8_t* alive,
    const detail::SoftParams<T>& params,
    int64_t* out_pos,
    T* out_score,
    uint8_t* out_used,
    cudaStream_t stream);

// One thread per pair (box_iou_kernel.cu).
template <typename T>
cudaError_t launch_pairwise_iou(
    const T* a,
    int64_t n,
    const T* b,
    int64_t m,
    detail::IoUKind kind,
    T eps,
    T* out,
    cudaStream_t stream);

} // namespace visionq::ops::cuda

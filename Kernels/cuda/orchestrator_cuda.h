// C ABI of liborchestrator_cuda.so, loaded by Kernels/Cuda/CudaKernels.cs through NativeLibrary.
// Every function returns 0 on success or a non-zero code with a message in orch_last_error().
// Pointers are device pointers of TorchSharp CUDA tensors; `stream` is a cudaStream_t (null: the
// legacy default stream, the one libtorch uses unless told otherwise).
#pragma once
#include <cuda_runtime.h>
#include <cstdint>

#define ORCH_API extern "C" __attribute__((visibility("default")))

enum { ORCH_DTYPE_FLOAT32 = 0, ORCH_DTYPE_BFLOAT16 = 1 };
enum { ORCH_SCALE_TILE = 0, ORCH_SCALE_BLOCK = 1 };

int orch_fail(const char* format, ...);
int orch_check_launch(const char* what);

ORCH_API int orch_abi_version();
ORCH_API const char* orch_last_error();
ORCH_API int orch_fp8_quantize(const void* input, int input_dtype, int64_t rows, int64_t cols, int block, int transpose,
                               void* codes, void* scales, int scale_layout, int64_t scale_ld, void* stream);
// Which value encoder the quantisation kernels use: 1 multiplies by the reciprocal scale (exact fix-up
// near rounding boundaries; bit-equal to the division), 0 divides. mode 0/1 sets it; any other value asks.
ORCH_API int orch_fp8_quant_mode(int mode);
// Checks the reciprocal encoder against the division on n hashed values (near rounding boundaries and
// uniform); writes the number of disagreements (0 expected) to *host_mismatches.
ORCH_API int orch_fp8_encoder_check(uint64_t seed, int64_t n, unsigned long long* host_mismatches);
ORCH_API int orch_fp8_gemm(const void* a_codes, const void* a_scales, int a_mode, const void* b_codes, const void* b_scales,
                           int b_mode, void* d, int d_dtype, int64_t m, int64_t n, int64_t k_pad, int swap, void* stream);

// Tile (1x128) and block (128x128) E4M3 quantisation on the GPU, with the CPU codec's semantics
// (Kernels/Fp8): scale = max(maxabs / 448, smallest float), 1 for an all-zero tile, a NaN scale for a
// tile holding a non-finite value; code = RNE(x / scale) saturated to +-448.
//
// Every quantised operand is "reduction-major": its last dimension is the GEMM's reduction dimension,
// padded with zero codes to a multiple of 128, so the GEMM sees whole 128-wide scaling groups.
// Scales: for tiles [outRows][kBlocks], for blocks [ceil(outRows/128)][kBlocks]; layout 0 stores them
// row-major, layout 1 column-major (kBlock-major), whichever the GEMM wants.
#include "orchestrator_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kGroup = 128;
constexpr float kE4M3Max = 448.0f;

template <typename T> __device__ __forceinline__ float to_float(T v);
template <> __device__ __forceinline__ float to_float<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

__device__ __forceinline__ uint32_t abs_bits(float v) { return __float_as_uint(v) & 0x7FFFFFFFu; }

// Positive floats order like their bits: one unsigned max finds the max-abs and any NaN/Inf.
__device__ __forceinline__ float scale_for(uint32_t max_bits) {
  if (max_bits >= 0x7F800000u) return __uint_as_float(0x7FC00000u);
  const float m = __uint_as_float(max_bits);
  if (m == 0.0f) return 1.0f;
  return fmaxf(__fdiv_rn(m, kE4M3Max), __uint_as_float(1u));
}

__device__ __forceinline__ uint32_t encode(float x, float scale) {
  return static_cast<uint32_t>(__nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3));
}

// encode() without a division per value: q = x * (1/scale) is within 2 ulps of the correctly rounded
// x / scale (two roundings of 2^-24 each), so it gives the same E4M3 code unless it sits within a few
// ulps of a rounding boundary (the 20 bits below E4M3's mantissa at 0x80000) — then, and for E4M3's
// subnormal range, non-finite values and a non-finite or subnormal scale (1/scale not normal), the exact
// division decides. Zero keeps its sign, as the division gives it.
__device__ __forceinline__ uint32_t encode_fast(float x, float scale, float inverse) {
  const float q = x * inverse;
  const uint32_t bits = __float_as_uint(q);
  const uint32_t exponent = (bits >> 23) & 0xFFu;
  const uint32_t low = bits & 0xFFFFFu;
  if ((bits & 0x7FFFFFFFu) == 0u && isfinite(inverse)) return (bits >> 24) & 0x80u;
  if (exponent < 121u || exponent == 255u || low - 0x7FFFDu <= 6u) return encode(x, scale);
  return static_cast<uint32_t>(__nv_cvt_float_to_fp8(q, __NV_SATFINITE, __NV_E4M3));
}

// The per-value encoder of a kernel: FAST multiplies by the tile's reciprocal scale, else divides.
// A scale whose reciprocal is not a normal float (s >= 2^126, or s subnormal with 1/s overflowing) divides:
// a subnormal 1/s carries too few bits for the 2-ulp bound. Real scales stay below 2^119 (max float / 448).
template <bool FAST> struct Encoder {
  float scale, inverse;
  bool divide;
  __device__ __forceinline__ explicit Encoder(float s) : scale(s), inverse(0.0f), divide(!FAST) {
    if (FAST) {
      inverse = __frcp_rn(s);
      const uint32_t exponent = (__float_as_uint(inverse) >> 23) & 0xFFu;
      divide = exponent == 0u || exponent == 255u;
    }
  }
  __device__ __forceinline__ uint32_t operator()(float x) const { return divide ? encode(x, scale) : encode_fast(x, scale, inverse); }
  __device__ __forceinline__ uint32_t pack4(float a, float b, float c, float d) const {
    return (*this)(a) | ((*this)(b) << 8) | ((*this)(c) << 16) | ((*this)(d) << 24);
  }
};

__device__ __forceinline__ uint32_t warp_max(uint32_t v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = max(v, __shfl_xor_sync(0xFFFFFFFFu, v, offset));
  return v;
}

// ld: the stride of the scale matrix's outer dimension (>= its inner extent; cuBLASLt may want padding).
__device__ __forceinline__ int64_t scale_index(int64_t row_block, int64_t k_block, int64_t ld, int layout) {
  return layout == 0 ? row_block * ld + k_block : k_block * ld + row_block;
}

template <typename T> struct Quad { float v[4]; };

template <typename T> __device__ __forceinline__ Quad<T> load4(const T* p);
template <> __device__ __forceinline__ Quad<float> load4<float>(const float* p) {
  const float4 f = *reinterpret_cast<const float4*>(p);
  return {{f.x, f.y, f.z, f.w}};
}
template <> __device__ __forceinline__ Quad<__nv_bfloat16> load4<__nv_bfloat16>(const __nv_bfloat16* p) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const __nv_bfloat162 lo = *reinterpret_cast<const __nv_bfloat162*>(&raw.x);
  const __nv_bfloat162 hi = *reinterpret_cast<const __nv_bfloat162*>(&raw.y);
  return {{__low2float(lo), __high2float(lo), __low2float(hi), __high2float(hi)}};
}

// 1x128 tiles along each row. Each lane loads 16 bytes (4 floats or 8 bfloat16s), so a tile takes 32
// or 16 lanes; a warp keeps U loads in flight before it reduces, scales and stores (memory-level
// parallelism is what this kernel is about). Needs cols % (16 / sizeof(T)) == 0.
template <typename T> struct Wide;
template <> struct Wide<float> {
  static constexpr int kValues = 4;
  __device__ static void load(const float* p, float* v) {
    const float4 f = *reinterpret_cast<const float4*>(p);
    v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
  }
};
template <> struct Wide<__nv_bfloat16> {
  static constexpr int kValues = 8;
  __device__ static void load(const __nv_bfloat16* p, float* v) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
    for (int i = 0; i < 4; ++i) {
      v[2 * i] = __uint_as_float(w[i] << 16);
      v[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
    }
  }
};

template <typename T, bool FAST>
__global__ void __launch_bounds__(256) tile_rows_kernel(const T* __restrict__ x, int64_t rows, int64_t cols, int64_t k_pad,
                                                        uint8_t* __restrict__ codes, float* __restrict__ scales, int layout, int64_t scale_ld) {
  // A warp owns whole rows (no index division per tile: 64-bit divisions dominated the first version),
  // walking along a row U·kTilesPerLoad tiles at a time.
  constexpr int V = Wide<T>::kValues;
  constexpr int kLanes = kGroup / V;       // lanes per tile
  constexpr int kTilesPerLoad = 32 / kLanes;
  constexpr int U = 4;                     // warp-loads in flight
  constexpr int kStep = U * kTilesPerLoad;
  const int lane = threadIdx.x & 31;
  const int sub = lane / kLanes, l = lane % kLanes;
  const int k_blocks = static_cast<int>(k_pad / kGroup);
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t row = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += warps) {
    const T* source = x + row * cols;
    uint8_t* target = codes + row * k_pad;
    for (int kb0 = 0; kb0 < k_blocks; kb0 += kStep) {
      float v[U][V];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int kb = kb0 + u * kTilesPerLoad + sub;
        const int64_t col = (int64_t)kb * kGroup + l * V;
        if (kb < k_blocks && col < cols) {
          Wide<T>::load(source + col, v[u]);
        } else {
#pragma unroll
          for (int i = 0; i < V; ++i) v[u][i] = 0.0f;
        }
      }
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int kb = kb0 + u * kTilesPerLoad + sub;
        uint32_t m = 0;
#pragma unroll
        for (int i = 0; i < V; ++i) m = max(m, abs_bits(v[u][i]));
#pragma unroll
        for (int offset = kLanes / 2; offset > 0; offset >>= 1) m = max(m, __shfl_xor_sync(0xFFFFFFFFu, m, offset));
        if (kb >= k_blocks) continue;
        const Encoder<FAST> encoder(scale_for(m));
        uint8_t* out = target + (int64_t)kb * kGroup + l * V;
        if constexpr (V == 4) {
          *reinterpret_cast<uint32_t*>(out) = encoder.pack4(v[u][0], v[u][1], v[u][2], v[u][3]);
        } else {
          *reinterpret_cast<uint2*>(out) =
              make_uint2(encoder.pack4(v[u][0], v[u][1], v[u][2], v[u][3]), encoder.pack4(v[u][4], v[u][5], v[u][6], v[u][7]));
        }
        if (l == 0) scales[scale_index(row, kb, scale_ld, layout)] = encoder.scale;
      }
    }
  }
}

// 128x128 blocks, not transposed: 256 threads per block, two passes (the second hits L2).
template <typename T, bool FAST>
__global__ void __launch_bounds__(256) block_rows_kernel(const T* __restrict__ x, int64_t rows, int64_t cols, int64_t k_pad,
                                                         uint8_t* __restrict__ codes, float* __restrict__ scales, int layout, int64_t scale_ld) {
  __shared__ uint32_t warp_maxes[8];
  const int64_t rb = blockIdx.y, kb = blockIdx.x;
  const int lane_col = (threadIdx.x & 31) * 4;
  const int row_in = threadIdx.x >> 5;  // 0..7
  const int64_t col = kb * kGroup + lane_col;
  uint32_t m = 0;
  for (int r = row_in; r < kGroup; r += 8) {
    const int64_t row = rb * kGroup + r;
    if (row >= rows || col >= cols) continue;
    const Quad<T> q = load4<T>(x + row * cols + col);
    m = max(m, max(max(abs_bits(q.v[0]), abs_bits(q.v[1])), max(abs_bits(q.v[2]), abs_bits(q.v[3]))));
  }
  m = warp_max(m);
  if ((threadIdx.x & 31) == 0) warp_maxes[row_in] = m;
  __syncthreads();
  m = 0;
  for (int w = 0; w < 8; ++w) m = max(m, warp_maxes[w]);
  const Encoder<FAST> encoder(scale_for(m));
  if (threadIdx.x == 0) scales[scale_index(rb, kb, scale_ld, layout)] = encoder.scale;
  for (int r = row_in; r < kGroup; r += 8) {
    const int64_t row = rb * kGroup + r;
    if (row >= rows) break;
    Quad<T> q = {{0.f, 0.f, 0.f, 0.f}};
    if (col < cols) q = load4<T>(x + row * cols + col);
    const uint32_t packed = encoder.pack4(q.v[0], q.v[1], q.v[2], q.v[3]);
    *reinterpret_cast<uint32_t*>(codes + row * k_pad + col) = packed;
  }
}

// Transposed: quantises xᵀ, so the groups run along x's rows. A thread block stages a 128-row x COLS
// slab in shared memory (coalesced reads along the columns); each thread then owns one column and
// 128/GROUPS of its rows and writes that stretch of the transposed row as 16-byte stores. COLS = 64
// for tiles (per-column scales), 128 for blocks (one scale per 128x128 block).
template <typename T, int COLS, bool BLOCK, bool FAST>
__global__ void __launch_bounds__(256) transposed_kernel(const T* __restrict__ x, int64_t rows, int64_t cols, int64_t m_pad,
                                                         uint8_t* __restrict__ codes, float* __restrict__ scales, int layout, int64_t scale_ld) {
  constexpr int kGroups = 256 / COLS;           // 4 or 2
  constexpr int kRowsPerThread = kGroup / kGroups;  // 32 or 64
  extern __shared__ float slab[];               // [128][COLS]
  __shared__ uint32_t partial[kGroups][COLS];
  const int64_t r0 = (int64_t)blockIdx.y * kGroup;
  const int64_t c0 = (int64_t)blockIdx.x * COLS;
  for (int i = threadIdx.x; i < kGroup * COLS; i += 256) {
    const int r = i / COLS, c = i % COLS;
    const int64_t row = r0 + r, col = c0 + c;
    slab[i] = (row < rows && col < cols) ? to_float<T>(x[row * cols + col]) : 0.0f;
  }
  __syncthreads();
  const int c = threadIdx.x % COLS;
  const int g = threadIdx.x / COLS;
  uint32_t m = 0;
  for (int r = g * kRowsPerThread; r < (g + 1) * kRowsPerThread; ++r) m = max(m, abs_bits(slab[r * COLS + c]));
  partial[g][c] = m;
  __syncthreads();
  m = 0;
  if (BLOCK) {
    for (int gg = 0; gg < kGroups; ++gg)
      for (int cc = 0; cc < COLS; ++cc) m = max(m, partial[gg][cc]);
  } else {
    for (int gg = 0; gg < kGroups; ++gg) m = max(m, partial[gg][c]);
  }
  const Encoder<FAST> encoder(scale_for(m));
  const float s = encoder.scale;
  const int64_t col = c0 + c;
  if (col < cols) {
    if (BLOCK) {
      if (threadIdx.x == 0) scales[scale_index(blockIdx.x, blockIdx.y, scale_ld, layout)] = s;
    } else if (g == 0) {
      scales[scale_index(col, blockIdx.y, scale_ld, layout)] = s;
    }
    uint8_t* out = codes + col * m_pad + r0 + g * kRowsPerThread;
    for (int r = 0; r < kRowsPerThread; r += 16) {
      uint32_t w[4];
      for (int j = 0; j < 4; ++j) {
        const int base = g * kRowsPerThread + r + j * 4;
        w[j] = encoder.pack4(slab[base * COLS + c], slab[(base + 1) * COLS + c], slab[(base + 2) * COLS + c], slab[(base + 3) * COLS + c]);
      }
      *reinterpret_cast<uint4*>(out + r) = make_uint4(w[0], w[1], w[2], w[3]);
    }
  }
}

int grid_for(int64_t warps_needed) {
  int device = 0, sms = 132;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  const int64_t blocks = (warps_needed + 7) / 8;
  const int64_t cap = (int64_t)sms * 16;
  return (int)(blocks < cap ? (blocks > 0 ? blocks : 1) : cap);
}

template <typename T, bool FAST>
int launch(const void* input, int64_t rows, int64_t cols, int block, int transpose, uint8_t* codes, float* scales, int layout,
           int64_t ld, cudaStream_t stream) {
  const T* x = static_cast<const T*>(input);
  if (!transpose) {
    const int64_t k_pad = (cols + kGroup - 1) / kGroup * kGroup;
    if (!block) {
      tile_rows_kernel<T, FAST><<<grid_for(rows), 256, 0, stream>>>(x, rows, cols, k_pad, codes, scales, layout, ld);
    } else {
      dim3 grid((unsigned)(k_pad / kGroup), (unsigned)((rows + kGroup - 1) / kGroup));
      block_rows_kernel<T, FAST><<<grid, 256, 0, stream>>>(x, rows, cols, k_pad, codes, scales, layout, ld);
    }
  } else {
    const int64_t m_pad = (rows + kGroup - 1) / kGroup * kGroup;
    if (!block) {
      constexpr int cols_per = 64;
      const size_t smem = (size_t)kGroup * cols_per * sizeof(float);
      dim3 grid((unsigned)((cols + cols_per - 1) / cols_per), (unsigned)(m_pad / kGroup));
      transposed_kernel<T, cols_per, false, FAST><<<grid, 256, smem, stream>>>(x, rows, cols, m_pad, codes, scales, layout, ld);
    } else {
      constexpr int cols_per = 128;
      const size_t smem = (size_t)kGroup * cols_per * sizeof(float);
      // Per device and cheap: set on every call rather than cached.
      cudaFuncSetAttribute(transposed_kernel<T, cols_per, true, FAST>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
      dim3 grid((unsigned)((cols + cols_per - 1) / cols_per), (unsigned)(m_pad / kGroup));
      transposed_kernel<T, cols_per, true, FAST><<<grid, 256, smem, stream>>>(x, rows, cols, m_pad, codes, scales, layout, ld);
    }
  }
  return orch_check_launch("fp8 quantise");
}

template <typename T>
int launch(bool fast, const void* input, int64_t rows, int64_t cols, int block, int transpose, uint8_t* codes, float* scales,
           int layout, int64_t ld, cudaStream_t stream) {
  return fast ? launch<T, true>(input, rows, cols, block, transpose, codes, scales, layout, ld, stream)
              : launch<T, false>(input, rows, cols, block, transpose, codes, scales, layout, ld, stream);
}

// 1: the reciprocal encoder (default), 0: a division per value. ORCHESTRATOR_FP8_QUANT=exact picks 0 at
// load; orch_fp8_quant_mode switches (the bench measures both).
std::atomic<int> g_fast{-1};

bool fast_mode() {
  int mode = g_fast.load(std::memory_order_relaxed);
  if (mode < 0) {
    const char* requested = std::getenv("ORCHESTRATOR_FP8_QUANT");
    mode = (requested != nullptr && std::strcmp(requested, "exact") == 0) ? 0 : 1;
    g_fast.store(mode, std::memory_order_relaxed);
  }
  return mode == 1;
}

// The fast encoder against the division on n hashed cases, half of them with x / scale within ±4 ulps of
// an E4M3 rounding boundary (the cases the fix-up exists for), half uniform in ±448·scale; scales over the
// whole positive float range. Counts disagreements.
__device__ __forceinline__ uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__global__ void encoder_check_kernel(uint64_t seed, int64_t n, unsigned long long* mismatches) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint64_t h = mix(seed ^ (uint64_t)i);
    const float s = __uint_as_float(1u + (uint32_t)(h % 0x7F7FFFFFull));
    float x;
    if (i & 1) {
      const int mantissa = (int)((h >> 32) & 7u), exponent = (int)((h >> 35) % 15u) - 6, offset = (int)((h >> 40) % 9u) - 4;
      const float boundary = ldexpf(1.0f + mantissa / 8.0f + 1.0f / 16.0f, exponent) * (((h >> 50) & 1u) ? -1.0f : 1.0f);
      x = __fmul_rn(__uint_as_float(__float_as_uint(boundary) + offset), s);
    } else {
      x = __fmul_rn(((float)((h >> 32) & 0xFFFFFFu) / 16777216.0f * 896.0f - 448.0f), s);
    }
    if (!isfinite(x)) continue;
    if (encode(x, s) != Encoder<true>(s)(x)) atomicAdd(mismatches, 1ull);
  }
}

}  // namespace

ORCH_API int orch_fp8_encoder_check(uint64_t seed, int64_t n, unsigned long long* host_mismatches) {
  if (host_mismatches == nullptr || n < 0) return orch_fail("fp8 encoder check: bad arguments");
  unsigned long long* device = nullptr;
  if (cudaMalloc(&device, sizeof(unsigned long long)) != cudaSuccess) return orch_fail("fp8 encoder check: cudaMalloc failed");
  cudaMemset(device, 0, sizeof(unsigned long long));
  encoder_check_kernel<<<grid_for(n / 32 + 1), 256>>>(seed, n, device);
  const int launched = orch_check_launch("fp8 encoder check");
  const cudaError_t copied = cudaMemcpy(host_mismatches, device, sizeof(unsigned long long), cudaMemcpyDeviceToHost);
  cudaFree(device);
  if (launched != 0) return launched;
  return copied == cudaSuccess ? 0 : orch_fail("fp8 encoder check: %s", cudaGetErrorString(copied));
}

ORCH_API int orch_fp8_quantize(const void* input, int input_dtype, int64_t rows, int64_t cols, int block, int transpose,
                               void* codes, void* scales, int scale_layout, int64_t scale_ld, void* stream) {
  if (input == nullptr || codes == nullptr || scales == nullptr) return orch_fail("fp8 quantise: a null pointer");
  if (rows <= 0 || cols <= 0) return orch_fail("fp8 quantise: rows %lld and cols %lld must be positive", (long long)rows, (long long)cols);
  const int vector = input_dtype == ORCH_DTYPE_BFLOAT16 ? 8 : 4;
  if (!transpose && cols % vector != 0) return orch_fail("fp8 quantise: cols %lld must be a multiple of %d", (long long)cols, vector);
  if (scale_ld <= 0) return orch_fail("fp8 quantise: scale stride %lld must be positive", (long long)scale_ld);
  if (scale_layout != 0 && scale_layout != 1) return orch_fail("fp8 quantise: scale layout %d is not 0 or 1", scale_layout);
  auto* out = static_cast<uint8_t*>(codes);
  auto* sc = static_cast<float*>(scales);
  auto s = static_cast<cudaStream_t>(stream);
  switch (input_dtype) {
    case ORCH_DTYPE_FLOAT32: return launch<float>(fast_mode(), input, rows, cols, block, transpose, out, sc, scale_layout, scale_ld, s);
    case ORCH_DTYPE_BFLOAT16: return launch<__nv_bfloat16>(fast_mode(), input, rows, cols, block, transpose, out, sc, scale_layout, scale_ld, s);
    default: return orch_fail("fp8 quantise: input dtype %d is not float32 (0) or bfloat16 (1)", input_dtype);
  }
}

ORCH_API int orch_fp8_quant_mode(int mode) {
  if (mode == 0 || mode == 1) g_fast.store(mode, std::memory_order_relaxed);
  return fast_mode() ? 1 : 0;
}

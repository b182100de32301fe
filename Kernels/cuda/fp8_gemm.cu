// Block-scaled FP8 GEMM through cuBLASLt: D[m,n] = A[m,k]·B[n,k]ᵀ with both operands E4M3 codes,
// reduction-major (k_pad a multiple of 128), each with 1x128 (tile) or 128x128 (block) float32
// scales. cuBLASLt on Hopper offers DeepSeek-V3's scaling as CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F
// and _BLK128x128_32F, with the promoted (fp32) accumulation, in the TN form only: in its
// column-major terms the weight-like operand B is "A" (transposed) and A is "B".
#include "orchestrator_cuda.h"

#include <cublasLt.h>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace {

constexpr size_t kWorkspaceBytes = 64ull << 20;

struct DeviceState {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
};

using PlanKey = std::tuple<int, int64_t, int64_t, int64_t, int, int, int, int>;

std::mutex g_gate;
std::map<int, DeviceState> g_devices;
std::map<PlanKey, cublasLtMatmulAlgo_t> g_algos;

int lt(cublasStatus_t status, const char* what) {
  return status == CUBLAS_STATUS_SUCCESS ? 0 : orch_fail("%s: cuBLASLt status %d", what, (int)status);
}

int state_for(int device, DeviceState** state) {
  auto& s = g_devices[device];
  if (s.handle == nullptr) {
    if (int rc = lt(cublasLtCreate(&s.handle), "cublasLtCreate")) return rc;
    const cudaError_t e = cudaMalloc(&s.workspace, kWorkspaceBytes);
    if (e != cudaSuccess) return orch_fail("cuBLASLt workspace: %s", cudaGetErrorString(e));
  }
  *state = &s;
  return 0;
}

cublasLtMatmulMatrixScale_t scale_mode(int mode) {
  return mode == ORCH_SCALE_BLOCK ? CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F : CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
}

struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  ~Descriptors() {
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

ORCH_API int orch_fp8_gemm(const void* a_codes, const void* a_scales, int a_mode, const void* b_codes, const void* b_scales,
                           int b_mode, void* d, int d_dtype, int64_t m, int64_t n, int64_t k_pad, int swap, void* stream) {
  if (!a_codes || !a_scales || !b_codes || !b_scales || !d) return orch_fail("fp8 gemm: a null pointer");
  if (m <= 0 || n <= 0 || k_pad <= 0 || k_pad % 128 != 0)
    return orch_fail("fp8 gemm: m %lld, n %lld, k_pad %lld (k_pad must be a positive multiple of 128)", (long long)m, (long long)n, (long long)k_pad);
  if (d_dtype != ORCH_DTYPE_FLOAT32 && d_dtype != ORCH_DTYPE_BFLOAT16) return orch_fail("fp8 gemm: output dtype %d", d_dtype);
  // swap: cuBLASLt's A is our A and its B our B, so the result is Dᵀ ([n, m] row-major).
  if (swap) {
    std::swap(a_codes, b_codes);
    std::swap(a_scales, b_scales);
    std::swap(a_mode, b_mode);
    std::swap(m, n);
  }
  int device = 0;
  cudaGetDevice(&device);
  std::lock_guard<std::mutex> lock(g_gate);
  DeviceState* state = nullptr;
  if (int rc = state_for(device, &state)) return rc;

  Descriptors desc;
  const cudaDataType_t out_type = d_dtype == ORCH_DTYPE_FLOAT32 ? CUDA_R_32F : CUDA_R_16BF;
  if (int rc = lt(cublasLtMatmulDescCreate(&desc.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc")) return rc;
  const cublasOperation_t trans = CUBLAS_OP_T, no_trans = CUBLAS_OP_N;
  // cuBLASLt's A is our B (n x k, transposed), its B is our A (k x m), its D is Dᵀ column-major = D row-major.
  const int32_t lt_a_mode = scale_mode(b_mode), lt_b_mode = scale_mode(a_mode);
  int rc = 0;
  rc |= lt(cublasLtMatmulDescSetAttribute(desc.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof trans), "TRANSA");
  rc |= lt(cublasLtMatmulDescSetAttribute(desc.op, CUBLASLT_MATMUL_DESC_TRANSB, &no_trans, sizeof no_trans), "TRANSB");
  rc |= lt(cublasLtMatmulDescSetAttribute(desc.op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &lt_a_mode, sizeof lt_a_mode), "A_SCALE_MODE");
  rc |= lt(cublasLtMatmulDescSetAttribute(desc.op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &lt_b_mode, sizeof lt_b_mode), "B_SCALE_MODE");
  rc |= lt(cublasLtMatmulDescSetAttribute(desc.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &b_scales, sizeof b_scales), "A_SCALE_POINTER");
  rc |= lt(cublasLtMatmulDescSetAttribute(desc.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scales, sizeof a_scales), "B_SCALE_POINTER");
  rc |= lt(cublasLtMatrixLayoutCreate(&desc.a, CUDA_R_8F_E4M3, (uint64_t)k_pad, (uint64_t)n, k_pad), "layout A");
  rc |= lt(cublasLtMatrixLayoutCreate(&desc.b, CUDA_R_8F_E4M3, (uint64_t)k_pad, (uint64_t)m, k_pad), "layout B");
  rc |= lt(cublasLtMatrixLayoutCreate(&desc.d, out_type, (uint64_t)n, (uint64_t)m, n), "layout D");
  if (rc) return rc;

  const PlanKey key{device, m, n, k_pad, a_mode, b_mode, d_dtype, swap};
  auto found = g_algos.find(key);
  if (found == g_algos.end()) {
    cublasLtMatmulPreference_t pref = nullptr;
    if ((rc = lt(cublasLtMatmulPreferenceCreate(&pref), "preference"))) return rc;
    const uint64_t ws = kWorkspaceBytes;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(state->handle, desc.op, desc.a, desc.b, desc.d, desc.d, pref, 1, &result, &count);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || count == 0)
      return orch_fail("fp8 gemm: cuBLASLt has no algorithm for m %lld n %lld k %lld (A scale %d, B scale %d, output %s): status %d",
                       (long long)m, (long long)n, (long long)k_pad, a_mode, b_mode, d_dtype == 0 ? "float32" : "bfloat16", (int)st);
    found = g_algos.emplace(key, result.algo).first;
  }
  const float alpha = 1.0f, beta = 0.0f;
  return lt(cublasLtMatmul(state->handle, desc.op, &alpha, b_codes, desc.a, a_codes, desc.b, &beta, d, desc.d, d, desc.d,
                           &found->second, state->workspace, kWorkspaceBytes, static_cast<cudaStream_t>(stream)),
            "cublasLtMatmul");
}

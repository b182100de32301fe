// Error reporting and the small runtime helpers the C# side needs (device selection, memory use,
// event timing), so that Kernels needs no binding of its own to libcudart.
#include "orchestrator_cuda.h"

#include <cstdarg>
#include <cstdio>

namespace {
thread_local char g_error[1024] = "";
}

int orch_fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(g_error, sizeof g_error, format, args);
  va_end(args);
  return 1;
}

int orch_check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return orch_fail("%s: kernel launch failed: %s", what, cudaGetErrorString(e));
  return 0;
}

static int check(cudaError_t e, const char* what) {
  return e == cudaSuccess ? 0 : orch_fail("%s: %s", what, cudaGetErrorString(e));
}

ORCH_API int orch_abi_version() { return 2; }

ORCH_API const char* orch_last_error() { return g_error; }

ORCH_API int orch_set_device(int device) { return check(cudaSetDevice(device), "cudaSetDevice"); }

ORCH_API int orch_synchronize() { return check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

ORCH_API int orch_memory_used(int64_t* used_bytes) {
  size_t free_bytes = 0, total = 0;
  if (int rc = check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo")) return rc;
  *used_bytes = (int64_t)(total - free_bytes);
  return 0;
}

ORCH_API int orch_event_create(void** event) {
  return check(cudaEventCreate(reinterpret_cast<cudaEvent_t*>(event)), "cudaEventCreate");
}

ORCH_API int orch_event_record(void* event, void* stream) {
  return check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
}

ORCH_API int orch_event_elapsed_ms(void* start, void* stop, float* ms) {
  if (int rc = check(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)), "cudaEventSynchronize")) return rc;
  return check(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)), "cudaEventElapsedTime");
}

ORCH_API int orch_event_destroy(void* event) { return check(cudaEventDestroy(static_cast<cudaEvent_t>(event)), "cudaEventDestroy"); }

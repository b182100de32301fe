// The native bridge to ATen: the operators TorchSharp 0.107 does not expose, called on TorchSharp's own tensor
// handles. A TorchSharp Tensor.Handle is a pointer to an at::Tensor that LibTorchSharp allocated with new; a result
// goes back the same way (new at::Tensor), and the C# side wraps it with Tensor.UnsafeCreateTensor, whose Dispose
// deletes it through LibTorchSharp. Ops are called through the dispatcher with autograd on, so a result that needs a
// gradient carries ATen's own backward (grouped_mm, rms_norm). Every entry point returns 0, or 1 with the message of
// the C++ exception (c10::Error included) in orch_aten_last_error: no exception crosses into .NET.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#if __has_include(<torch/version.h>)
#include <torch/version.h>
#endif

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#define ORCH_ATEN_API extern "C" __attribute__((visibility("default")))

namespace {
thread_local std::string g_error;

template <class F>
int guarded(const char* what, F&& body) {
  try {
    body();
    return 0;
  } catch (const c10::Error& e) {
    g_error = std::string(what) + ": " + e.what_without_backtrace();
  } catch (const std::exception& e) {
    g_error = std::string(what) + ": " + e.what();
  } catch (...) {
    g_error = std::string(what) + ": unknown C++ exception";
  }
  return 1;
}

const at::Tensor& deref(const at::Tensor* t, const char* name) {
  TORCH_CHECK(t != nullptr, "argument '", name, "' is a null tensor handle");
  return *t;
}

std::vector<at::Tensor> list(at::Tensor* const* handles, int64_t count, const char* name) {
  TORCH_CHECK(count >= 0, "argument '", name, "': negative count ", count);
  TORCH_CHECK(count == 0 || handles != nullptr, "argument '", name, "' is a null array");
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    TORCH_CHECK(handles[i] != nullptr, "argument '", name, "'[", i, "] is a null tensor handle");
    out.push_back(*handles[i]);
  }
  return out;
}
}  // namespace

// Version 1: grouped_mm, fused_adamw, rms_norm.
ORCH_ATEN_API int orch_aten_abi_version() { return 1; }

ORCH_ATEN_API const char* orch_aten_last_error() { return g_error.c_str(); }

// The libtorch these headers came from (checked against the loaded one by the C# side's callers if they wish).
ORCH_ATEN_API int orch_aten_torch_version(int* major, int* minor) {
  return guarded("torch_version", [&] {
    TORCH_CHECK(major && minor, "null output");
#ifdef TORCH_VERSION_MAJOR
    *major = TORCH_VERSION_MAJOR;
    *minor = TORCH_VERSION_MINOR;
#else
    *major = -1;
    *minor = -1;
#endif
  });
}

// out = at::_grouped_mm(a, b, offs): a [rows, k] (rows sorted by group), b [groups, k, n], offs int32 [groups] the
// groups' end rows (on the device: nothing is read on the host). out_dtype < 0 keeps a's dtype.
ORCH_ATEN_API int orch_aten_grouped_mm(const at::Tensor* a, const at::Tensor* b, const at::Tensor* offs, int out_dtype,
                                       at::Tensor** result) {
  return guarded("grouped_mm", [&] {
    TORCH_CHECK(result != nullptr, "null result slot");
    std::optional<at::ScalarType> dtype;
    if (out_dtype >= 0) dtype = static_cast<at::ScalarType>(out_dtype);
    at::Tensor out = at::_grouped_mm(deref(a, "a"), deref(b, "b"), deref(offs, "offs"), std::nullopt, dtype);
    *result = new at::Tensor(std::move(out));
  });
}

// One AdamW update of every parameter in the lists (ATen's fused multi-tensor CUDA kernel), in place, without
// autograd. step: a float32 tensor on the parameters' device holding the update count (after this update), used
// for bias correction; one tensor serves every parameter (the kernel only reads it).
ORCH_ATEN_API int orch_aten_fused_adamw(at::Tensor* const* params, at::Tensor* const* grads, at::Tensor* const* exp_avgs,
                                        at::Tensor* const* exp_avg_sqs, int64_t count, const at::Tensor* step, double lr,
                                        double beta1, double beta2, double weight_decay, double eps) {
  return guarded("fused_adamw", [&] {
    at::NoGradGuard no_grad;
    auto p = list(params, count, "params");
    auto g = list(grads, count, "grads");
    auto m = list(exp_avgs, count, "exp_avgs");
    auto v = list(exp_avg_sqs, count, "exp_avg_sqs");
    std::vector<at::Tensor> steps(static_cast<size_t>(count), deref(step, "step"));
    if (count == 0) return;
    at::_fused_adamw_(p, g, m, v, {}, steps, lr, beta1, beta2, weight_decay, eps, /*amsgrad=*/false,
                      /*maximize=*/false, std::nullopt, std::nullopt);
  });
}

// out = at::rms_norm(x, [x.size(-1)], weight, eps): ATen's RMSNorm over the last dimension (fused on CUDA where
// ATen has the kernel), with its own backward.
ORCH_ATEN_API int orch_aten_rms_norm(const at::Tensor* x, const at::Tensor* weight, double eps, at::Tensor** result) {
  return guarded("rms_norm", [&] {
    TORCH_CHECK(result != nullptr, "null result slot");
    const at::Tensor& input = deref(x, "x");
    TORCH_CHECK(input.dim() >= 1, "rms_norm: x has no dimension");
    std::vector<int64_t> shape{input.size(-1)};
    at::Tensor out = at::rms_norm(input, shape, deref(weight, "weight"), eps);
    *result = new at::Tensor(std::move(out));
  });
}

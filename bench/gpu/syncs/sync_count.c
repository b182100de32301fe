// Host synchronisation counter (LD_PRELOAD): counts the CUDA runtime calls that make the host wait for the
// device (stream/device/event synchronise, synchronous memcpy, and device-to-host async copies, which are
// followed by one), forwards each to the real function, and writes the totals to $SYNC_COUNT_OUT at exit.
// Built on the device by bench/gpu/run1.sh: gcc -shared -fPIC -O2 sync_count.c -o libsynccount.so -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

typedef int status_t;
static atomic_long stream_syncs, device_syncs, event_syncs, sync_copies, d2h_async_copies;

// The real function: the next definition in the global scope (Python loads libcudart there), else libcudart's
// own (.NET's NativeLibrary.Load opens libtorch and with it libcudart locally, where RTLD_NEXT does not look).
static void *resolve(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (f) return f;
  void *cudart = dlopen("libcudart.so.13", RTLD_LAZY | RTLD_NOLOAD);
  if (!cudart) cudart = dlopen("libcudart.so.13", RTLD_LAZY);
  f = cudart ? dlsym(cudart, name) : NULL;
  if (!f) {
    fprintf(stderr, "sync_count: no %s\n", name);
    abort();
  }
  return f;
}

#define FORWARD(name, ...) \
  static status_t (*real)(__VA_ARGS__); \
  if (!real) real = (status_t (*)(__VA_ARGS__))resolve(name)

status_t cudaStreamSynchronize(void *stream) {
  FORWARD("cudaStreamSynchronize", void *);
  atomic_fetch_add(&stream_syncs, 1);
  return real(stream);
}

status_t cudaDeviceSynchronize(void) {
  FORWARD("cudaDeviceSynchronize", void);
  atomic_fetch_add(&device_syncs, 1);
  return real();
}

status_t cudaEventSynchronize(void *event) {
  FORWARD("cudaEventSynchronize", void *);
  atomic_fetch_add(&event_syncs, 1);
  return real(event);
}

status_t cudaMemcpy(void *dst, const void *src, size_t n, int kind) {
  FORWARD("cudaMemcpy", void *, const void *, size_t, int);
  atomic_fetch_add(&sync_copies, 1);
  return real(dst, src, n, kind);
}

// kind 2 = cudaMemcpyDeviceToHost; 4 = cudaMemcpyDefault (PyTorch uses it for device-to-host reads too).
status_t cudaMemcpyAsync(void *dst, const void *src, size_t n, int kind, void *stream) {
  FORWARD("cudaMemcpyAsync", void *, const void *, size_t, int, void *);
  if (kind == 2 || kind == 4) atomic_fetch_add(&d2h_async_copies, 1);
  return real(dst, src, n, kind, stream);
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("SYNC_COUNT_OUT");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (!f) return;
  fprintf(f, "{\"stream_syncs\": %ld, \"device_syncs\": %ld, \"event_syncs\": %ld, \"sync_copies\": %ld, \"d2h_async_copies\": %ld}\n",
          atomic_load(&stream_syncs), atomic_load(&device_syncs), atomic_load(&event_syncs), atomic_load(&sync_copies),
          atomic_load(&d2h_async_copies));
  fclose(f);
}

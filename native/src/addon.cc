// Module entry: thread control, and the kernel files' own registrations (LOWBIT_REGISTER).
#include "common.h"
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <malloc.h>
#include <stdexcept>

namespace lowbit {

static int g_threads = 0;

int threads() {
  if (g_threads <= 0) g_threads = omp_get_num_procs();
  return g_threads;
}

void setThreads(int n) {
  g_threads = n > 0 ? n : omp_get_num_procs();
  omp_set_num_threads(g_threads);
}

void fail(const std::string& what) { throw std::runtime_error(what); }

std::vector<Registrar>& registrars() {
  static std::vector<Registrar> list;  // built during static initialisation, before Init runs
  return list;
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  setThreads(argInt(info, 0));
  return Napi::Number::New(info.Env(), threads());
}

static Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threads()); }

static Napi::Value Info(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  const dnnl_version_t* v = dnnl_version();
  o.Set("dnnl", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", threads());
  o.Set("cores", omp_get_num_procs());
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Training allocates and frees tensors of many MB every step; glibc would serve each from a
  // fresh mmap (page faults on every touch). Keeping them on the heap recycles warm pages.
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1024 << 20);
  setThreads(0);
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  for (Registrar r : registrars()) r(env, exports);
  return exports;
}

}  // namespace lowbit

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return lowbit::Init(env, exports); }

NODE_API_MODULE(lowbit_native, InitModule)

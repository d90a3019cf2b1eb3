// Shared helpers for the lowbit native kernels: typed-array access, threading, errors.
#pragma once
#include <napi.h>
#include <vector>
#include <cstdint>
#include <string>

namespace lowbit {

// Number of threads every kernel uses; set from JS (default: all cores).
int threads();
void setThreads(int n);

// A view of a Float32Array / Int32Array argument without copying.
template <typename T>
struct Span {
  T* data = nullptr;
  size_t length = 0;
};

template <typename T>
inline Span<T> arg(const Napi::CallbackInfo& info, size_t i) {
  Span<T> s;
  if (info[i].IsNull() || info[i].IsUndefined()) return s;
  auto ta = info[i].As<Napi::TypedArray>();
  s.data = reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  s.length = ta.ByteLength() / sizeof(T);
  return s;
}

inline int argInt(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
inline float argFloat(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().FloatValue(); }

// Throws a JS Error (exceptions are enabled in the addon so oneDNN errors surface too).
[[noreturn]] void fail(const std::string& what);

// Each kernel file exports its functions itself: `LOWBIT_REGISTER(registerX);` after its register
// function adds it to the list the module entry (addon.cc) runs at load, so a new kernel file is
// one file (binding.gyp compiles every src/*.cc).
using Registrar = void (*)(Napi::Env env, Napi::Object exports);
std::vector<Registrar>& registrars();
struct AutoRegister {
  explicit AutoRegister(Registrar r) { registrars().push_back(r); }
};
#define LOWBIT_REGISTER(fn) static ::lowbit::AutoRegister fn##_registered(fn)

}  // namespace lowbit

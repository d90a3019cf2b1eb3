// Shared helpers for the lowbit native kernels: typed-array access, threading, errors.
#pragma once
#include <napi.h>
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

void registerConv(Napi::Env env, Napi::Object exports);
void registerMatmul(Napi::Env env, Napi::Object exports);
void registerBatchnorm(Napi::Env env, Napi::Object exports);
void registerPool(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerLoss(Napi::Env env, Napi::Object exports);
void registerOptim(Napi::Env env, Napi::Object exports);
void registerFakeQuant(Napi::Env env, Napi::Object exports);
void registerMethods(Napi::Env env, Napi::Object exports);
void registerIntGemm(Napi::Env env, Napi::Object exports);
void registerSlb(Napi::Env env, Napi::Object exports);
void registerDropBits(Napi::Env env, Napi::Object exports);

}  // namespace lowbit

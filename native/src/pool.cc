// Max and average pooling over NHWC with their exact gradients. Padding cells are ignored:
// max takes the first maximum of the valid cells (as tfjs does), average divides by the number
// of valid cells in both directions so the gradient is the true gradient of the forward pass.
#include "common.h"
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

namespace lowbit {

// dims: N,H,W,C,KH,KW,sh,sw,pt,pl,OH,OW
struct PoolDims {
  int N, H, W, C, KH, KW, sh, sw, pt, pl, OH, OW;
};

static PoolDims readPool(const Span<int32_t>& d) {
  if (d.length != 12) fail("pool dims must have 12 entries");
  const int32_t* p = d.data;
  return PoolDims{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
}

// Calls f(n, oh, ow, h0, h1, w0, w1) for every output cell of images n0..n1-1, with the window
// clipped to the input ([h0, h1) x [w0, w1)).
template <typename F>
static void windowsOf(const PoolDims& p, int n, int oh, F& f) {
  int h0 = oh * p.sh - p.pt, h1 = std::min(h0 + p.KH, p.H);
  h0 = std::max(h0, 0);
  for (int ow = 0; ow < p.OW; ow++) {
    int w0 = ow * p.sw - p.pl, w1 = std::min(w0 + p.KW, p.W);
    w0 = std::max(w0, 0);
    f(n, oh, ow, h0, h1, w0, w1);
  }
}

// Forward passes write disjoint outputs: output rows run in parallel.
template <typename F>
static void forEachWindow(const PoolDims& p, F f) {
  const long rows = long(p.N) * p.OH;
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (long r = 0; r < rows; r++) windowsOf(p, int(r / p.OH), int(r % p.OH), f);
}

// Backward passes scatter into overlapping windows: whole images run in parallel (no races).
// `make` builds one per-thread functor (scratch buffers live in it).
template <typename Make>
static void forEachWindowByImage(const PoolDims& p, Make make) {
#pragma omp parallel num_threads(threads())
  {
    auto f = make();
#pragma omp for schedule(static)
    for (int n = 0; n < p.N; n++)
      for (int oh = 0; oh < p.OH; oh++) windowsOf(p, n, oh, f);
  }
}

static Napi::Value MaxForward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), y = arg<float>(info, 1);
  PoolDims p = readPool(arg<int32_t>(info, 2));
  const int C = p.C;
  forEachWindow(p, [&](int n, int oh, int ow, int h0, int h1, int w0, int w1) {
    float* out = y.data + ((size_t(n) * p.OH + oh) * p.OW + ow) * C;
    for (int c = 0; c < C; c++) out[c] = -std::numeric_limits<float>::infinity();
    for (int h = h0; h < h1; h++)
      for (int w = w0; w < w1; w++) {
        const float* in = x.data + ((size_t(n) * p.H + h) * p.W + w) * C;
        for (int c = 0; c < C; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
      }
  });
  return info.Env().Undefined();
}

// maxPoolBackward(dy, x, dx, dims): the argmax of every window is recomputed with the channel
// loop innermost (contiguous in NHWC).
static Napi::Value MaxBackward(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1), dx = arg<float>(info, 2);
  PoolDims p = readPool(arg<int32_t>(info, 3));
  const int C = p.C;
  std::memset(dx.data, 0, dx.length * sizeof(float));
  forEachWindowByImage(p, [&]() {
    return [&, best = std::vector<float>(C), at = std::vector<size_t>(C)](int n, int oh, int ow, int h0, int h1, int w0,
                                                                          int w1) mutable {
      if (h0 >= h1 || w0 >= w1) return;
      bool first = true;
      for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
          const size_t base = ((size_t(n) * p.H + h) * p.W + w) * C;
          const float* in = x.data + base;
          for (int c = 0; c < C; c++)
            if (first || in[c] > best[c]) {
              best[c] = in[c];
              at[c] = base + c;
            }
          first = false;
        }
      const float* g = dy.data + ((size_t(n) * p.OH + oh) * p.OW + ow) * C;
      for (int c = 0; c < C; c++) dx.data[at[c]] += g[c];
    };
  });
  return info.Env().Undefined();
}

static Napi::Value AvgForward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), y = arg<float>(info, 1);
  PoolDims p = readPool(arg<int32_t>(info, 2));
  const int C = p.C;
  forEachWindow(p, [&](int n, int oh, int ow, int h0, int h1, int w0, int w1) {
    float* out = y.data + ((size_t(n) * p.OH + oh) * p.OW + ow) * C;
    for (int c = 0; c < C; c++) out[c] = 0.f;
    for (int h = h0; h < h1; h++)
      for (int w = w0; w < w1; w++) {
        const float* in = x.data + ((size_t(n) * p.H + h) * p.W + w) * C;
        for (int c = 0; c < C; c++) out[c] += in[c];
      }
    float inv = 1.f / float(std::max(1, (h1 - h0) * (w1 - w0)));
    for (int c = 0; c < C; c++) out[c] *= inv;
  });
  return info.Env().Undefined();
}

static Napi::Value AvgBackward(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), dx = arg<float>(info, 1);
  PoolDims p = readPool(arg<int32_t>(info, 2));
  const int C = p.C;
  std::memset(dx.data, 0, dx.length * sizeof(float));
  forEachWindowByImage(p, [&]() {
    return [&](int n, int oh, int ow, int h0, int h1, int w0, int w1) {
      const float* g = dy.data + ((size_t(n) * p.OH + oh) * p.OW + ow) * C;
      const float inv = 1.f / float(std::max(1, (h1 - h0) * (w1 - w0)));
      for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
          float* d = dx.data + ((size_t(n) * p.H + h) * p.W + w) * C;
          for (int c = 0; c < C; c++) d[c] += g[c] * inv;
        }
    };
  });
  return info.Env().Undefined();
}

void registerPool(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPoolForward", Napi::Function::New(env, MaxForward));
  exports.Set("maxPoolBackward", Napi::Function::New(env, MaxBackward));
  exports.Set("avgPoolForward", Napi::Function::New(env, AvgForward));
  exports.Set("avgPoolBackward", Napi::Function::New(env, AvgBackward));
}
LOWBIT_REGISTER(registerPool);

}  // namespace lowbit

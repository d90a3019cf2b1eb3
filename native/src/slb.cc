// Per-weight kernels of SLB (searching for low-bit weights, Yang et al. 2020): every weight i
// holds logits A[i][0..J) over its layer's value set v_c,j = unit_c·level_j (c the weight's
// output channel); the weight used in training is the expectation under softmax(T·A_i), and
// at the end the value of the largest logit. One pass per layer and step (the TypeScript
// reference, src/train/methods/slb-soft.ts, is what tests hold these to).
#include "common.h"
#include <algorithm>
#include <cmath>
#include <omp.h>
#include <vector>

namespace lowbit {

static constexpr size_t kParSlb = 1 << 14;
static constexpr int kMaxLevels = 256;
static constexpr size_t kChunk = 512;

static inline int chanOf(size_t i, int C) { return C == 1 ? 0 : int(i % size_t(C)); }

// p = softmax(T·a) over J entries (max-subtracted); returns Σ p_j·level_j. Single-precision
// exponentials (the logits are float32; expf is the cost of both passes), sums in double.
static inline double softmaxLevels(const float* a, const float* lv, int J, double T, double* p) {
  float mx = a[0];
  for (int j = 1; j < J; j++) mx = std::max(mx, a[j]);
  const float fT = float(T);
  float q[kMaxLevels];
  for (int j = 0; j < J; j++) q[j] = std::exp(fT * (a[j] - mx));
  double z = 0;
  for (int j = 0; j < J; j++) z += q[j];
  double e = 0;
  for (int j = 0; j < J; j++) e += (p[j] = q[j] / z) * lv[j];
  return e;
}

// slbSoft(A f32[n·J], levels f32[J], unit f32[C], T, w f32[n], conf f32[1]): w_i = unit_c·E[level];
// conf = mean over weights of max_j p_j (how settled the choice is).
static Napi::Value SlbSoft(const Napi::CallbackInfo& info) {
  auto A = arg<float>(info, 0);
  auto lv = arg<float>(info, 1);
  auto unit = arg<float>(info, 2);
  const double T = info[3].As<Napi::Number>().DoubleValue();
  auto w = arg<float>(info, 4);
  auto conf = arg<float>(info, 5);
  const int J = int(lv.length), C = int(unit.length);
  if (J < 2 || J > kMaxLevels || C < 1 || A.length != w.length * J || w.length % C || conf.length != 1) fail("slbSoft: array lengths do not match");
  double total = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : total) if (w.length > kParSlb)
  for (size_t i = 0; i < w.length; i++) {
    double p[kMaxLevels];
    const double e = softmaxLevels(A.data + i * J, lv.data, J, T, p);
    w.data[i] = float(unit.data[chanOf(i, C)] * e);
    total += *std::max_element(p, p + J);
  }
  conf.data[0] = float(total / double(w.length));
  return info.Env().Undefined();
}

// slbAdam(A, levels, unit, T, g f32[n], m f32[n·J], v f32[n·J], lr, beta1, beta2, eps, step):
// dL/dA_ij = g_i·T·p_j·(v_cj − w_i) (the softmax's Jacobian), then one Adam step on A.
static Napi::Value SlbAdam(const Napi::CallbackInfo& info) {
  auto A = arg<float>(info, 0);
  auto lv = arg<float>(info, 1);
  auto unit = arg<float>(info, 2);
  const double T = info[3].As<Napi::Number>().DoubleValue();
  auto g = arg<float>(info, 4);
  auto m = arg<float>(info, 5);
  auto v = arg<float>(info, 6);
  const double lr = info[7].As<Napi::Number>().DoubleValue(), b1 = info[8].As<Napi::Number>().DoubleValue(),
               b2 = info[9].As<Napi::Number>().DoubleValue(), eps = info[10].As<Napi::Number>().DoubleValue();
  const int step = argInt(info, 11);
  const int J = int(lv.length), C = int(unit.length);
  if (J < 2 || J > kMaxLevels || C < 1 || A.length != g.length * J || m.length != A.length || v.length != A.length || g.length % C || step < 1)
    fail("slbAdam: array lengths do not match");
  const double c1 = 1 - std::pow(b1, step), c2 = 1 - std::pow(b2, step);
  // Chunks of weights: the logit gradients of a chunk (a softmax per weight) into a small buffer,
  // then the Adam update over the chunk's contiguous n·J entries in single precision, which the
  // compiler vectorizes (the update was most of this kernel's time).
  const float fb1 = float(b1), fb2 = float(b2), fstep = float(lr / c1), finv2 = float(1 / c2), feps = float(eps);
  const size_t chunks = (g.length + kChunk - 1) / kChunk;
#pragma omp parallel num_threads(threads()) if (g.length > kParSlb)
  {
    std::vector<float> d(kChunk * size_t(J));
#pragma omp for schedule(static)
    for (size_t ch = 0; ch < chunks; ch++) {
      const size_t i0 = ch * kChunk, i1 = std::min(g.length, i0 + kChunk);
      double p[kMaxLevels];
      for (size_t i = i0; i < i1; i++) {
        const double u = unit.data[chanOf(i, C)];
        const double e = softmaxLevels(A.data + i * J, lv.data, J, T, p);
        float* di = d.data() + (i - i0) * J;
        for (int j = 0; j < J; j++) di[j] = float(double(g.data[i]) * T * p[j] * u * (double(lv.data[j]) - e));
      }
      float *a = A.data + i0 * J, *mk = m.data + i0 * J, *vk = v.data + i0 * J;
      const size_t len = (i1 - i0) * J;
#pragma omp simd
      for (size_t k = 0; k < len; k++) {
        const float dk = d[k];
        mk[k] = fb1 * mk[k] + (1 - fb1) * dk;
        vk[k] = fb2 * vk[k] + (1 - fb2) * dk * dk;
        a[k] -= fstep * mk[k] / (std::sqrt(vk[k] * finv2) + feps);
      }
    }
  }
  return info.Env().Undefined();
}

// slbHard(A, levels, unit, w f32[n]): w_i = unit_c·level of the largest logit (first on ties).
static Napi::Value SlbHard(const Napi::CallbackInfo& info) {
  auto A = arg<float>(info, 0);
  auto lv = arg<float>(info, 1);
  auto unit = arg<float>(info, 2);
  auto w = arg<float>(info, 3);
  const int J = int(lv.length), C = int(unit.length);
  if (J < 2 || C < 1 || A.length != w.length * J || w.length % C) fail("slbHard: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (w.length > kParSlb)
  for (size_t i = 0; i < w.length; i++) {
    const float* a = A.data + i * J;
    const int best = int(std::max_element(a, a + J) - a);
    w.data[i] = float(double(unit.data[chanOf(i, C)]) * lv.data[best]);
  }
  return info.Env().Undefined();
}

void registerSlb(Napi::Env env, Napi::Object exports) {
  exports.Set("slbSoft", Napi::Function::New(env, SlbSoft));
  exports.Set("slbAdam", Napi::Function::New(env, SlbAdam));
  exports.Set("slbHard", Napi::Function::New(env, SlbHard));
}
LOWBIT_REGISTER(registerSlb);

}  // namespace lowbit

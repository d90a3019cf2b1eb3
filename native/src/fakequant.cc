// Fused fake quantization, forward (value + straight-through mask) and the gradients of the
// learned parameters (LSQ step, PACT clip). One kernel per arithmetic family; which family a
// format uses, and with which parameters, is declared by the format in src/quant/ (its `plan`).
// The arithmetic mirrors the TypeScript encode/decode exactly: float32 division, round half to
// even (nearbyint under the default rounding mode), float32 products.
#include "common.h"
#include <cmath>
#include <cstring>
#include <omp.h>
#include <vector>

namespace lowbit {

static constexpr size_t kPar = 1 << 15;

static inline int channelOf(size_t i, int C) { return C == 1 ? 0 : int(i % size_t(C)); }

// fqUniform(x, out, mask|null, scale[C], zeroPoint[C], C, qmin, qmax, flags|null):
// q = clamp(rhe(x/s) + zp, qmin, qmax); out = (q - zp)*s. Flagged elements (MPQ) use s/2 and
// the doubled range. mask = 1 where x lies within the representable range.
static Napi::Value Uniform(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2);
  auto scale = arg<float>(info, 3), zp = arg<float>(info, 4);
  const int C = argInt(info, 5), qmin = argInt(info, 6), qmax = argInt(info, 7);
  auto flags = arg<uint8_t>(info, 8);
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const int c = channelOf(i, C);
    const bool fine = flags.data && flags.data[i];
    const float s = fine ? scale.data[c] / 2.f : scale.data[c];
    const float z = zp.data[c];
    const float lo = fine ? 2.f * qmin : float(qmin), hi = fine ? 2.f * qmax : float(qmax);
    float q = std::nearbyint(x.data[i] / s) + z;
    q = q < lo ? lo : (q > hi ? hi : q);
    out.data[i] = (q - z) * s;
    if (mask.data) {
      const float vlo = (lo - z) * s, vhi = (hi - z) * s;
      mask.data[i] = x.data[i] >= vlo && x.data[i] <= vhi;
    }
  }
  return info.Env().Undefined();
}

// fqBinary(x, out, mask|null, scale[C], C): ±α, sign(0) = +1; mask |x| <= 1.
static Napi::Value Binary(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2);
  auto scale = arg<float>(info, 3);
  const int C = argInt(info, 4);
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const float a = scale.data[channelOf(i, C)];
    out.data[i] = x.data[i] >= 0.f ? a : -a;
    if (mask.data) mask.data[i] = std::fabs(x.data[i]) <= 1.f;
  }
  return info.Env().Undefined();
}

// fqTernary(x, out, mask|null, scale[C], C, threshold): ±α beyond ±Δ, else 0; identity STE.
static Napi::Value Ternary(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2);
  auto scale = arg<float>(info, 3);
  const int C = argInt(info, 4);
  const float t = argFloat(info, 5);
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const float a = scale.data[channelOf(i, C)], v = x.data[i];
    out.data[i] = v > t ? a : (v < -t ? -a : 0.f);
    if (mask.data) mask.data[i] = 1;
  }
  return info.Env().Undefined();
}

// Index of the entry of ascending `t` (length L) nearest to v, ties to the even index.
static inline int nearest(const float* t, int L, float v) {
  if (v <= t[0]) return 0;
  if (v >= t[L - 1]) return L - 1;
  int lo = 0, hi = L - 1;
  while (hi - lo > 1) {
    int mid = (lo + hi) >> 1;
    if (t[mid] <= v) lo = mid;
    else hi = mid;
  }
  const double dl = double(v) - t[lo], dh = double(t[hi]) - v;
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return (lo & 1) ? hi : lo;
}

// fqTable(x, out, mask|null, tables[C*L], C, L, signed): magnitudes per channel (ascending,
// already scaled); signed formats quantize |x| and restore the sign, unsigned clamp below at 0.
static Napi::Value Table(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2);
  auto tables = arg<float>(info, 3);
  const int C = argInt(info, 4), L = argInt(info, 5);
  const bool sgn = argInt(info, 6) != 0;
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const float* t = tables.data + size_t(channelOf(i, C)) * L;
    const float v = x.data[i], top = t[L - 1];
    if (sgn) {
      const float m = t[nearest(t, L, std::fabs(v))];
      out.data[i] = (v < 0.f && m > 0.f) ? -m : m;  // zero stays +0, as the code 0 decodes
      if (mask.data) mask.data[i] = std::fabs(v) <= top;
    } else {
      out.data[i] = v > 0.f ? t[nearest(t, L, v)] : 0.f;
      if (mask.data) mask.data[i] = v >= 0.f && v <= top;
    }
  }
  return info.Env().Undefined();
}

// fqEsb(x, out, mask|null, alpha[C], C, bits, k): the ESB procedure of SPEC.md §2.
static Napi::Value Esb(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2);
  auto alpha = arg<float>(info, 3);
  const int C = argInt(info, 4), bits = argInt(info, 5), k = argInt(info, 6);
  const int e = std::min(4, std::max(1, bits - k - 1));
  const int N = int(std::floor(std::pow(2.0, e) - 1.5));
  const int M = 1 << (bits - 1);
  // Largest magnitude in units of α.
  const double top = e < 2 ? M - 0.5 : std::ldexp(1.0, N + 1) - std::ldexp(1.0, N - k);
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const float a = alpha.data[channelOf(i, C)], v = x.data[i];
    const float u = std::fabs(v) / a;
    double m;
    if (e < 2) {
      m = std::min(std::floor(double(u)), double(M - 1)) + 0.5;
    } else {
      int r = u > 0.f ? std::ilogb(u) : 0;
      r = std::min(N, std::max(0, r));
      const double step = std::ldexp(1.0, r - k);
      m = std::min(std::nearbyint(double(u) / step) * step, top);
    }
    const float q = float(m) * a;
    out.data[i] = (v < 0.f && m > 0.0) ? -q : q;
    if (mask.data) mask.data[i] = std::fabs(v) <= float(top) * a;
  }
  return info.Env().Undefined();
}

// maskGrad(dy, mask, dx): the straight-through backward dx = dy * mask.
static Napi::Value MaskGrad(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0);
  auto mask = arg<uint8_t>(info, 1);
  auto dx = arg<float>(info, 2);
  const size_t n = dy.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) dx.data[i] = mask.data[i] ? dy.data[i] : 0.f;
  return info.Env().Undefined();
}

// Per-channel double sums of f(i) over a channel-last tensor. Threads accumulate in their own
// vectors (no false sharing when C is small) and are reduced at the end.
template <typename F>
static void channelSum(size_t n, int C, double* out, F f) {
  const int T = threads();
  std::vector<std::vector<double>> part(T);
#pragma omp parallel num_threads(T) if (n > kPar)
  {
    std::vector<double> p(C, 0.0);
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) p[channelOf(i, C)] += f(i);
    part[omp_get_thread_num()] = std::move(p);
  }
  for (int c = 0; c < C; c++) {
    out[c] = 0;
    for (const auto& p : part)
      if (!p.empty()) out[c] += p[c];
  }
}

// lsqStepGrad(dy, x, scale[C], C, qmin, qmax, gradScale, ds[C]) (Esser et al. 2020):
// ds = g * sum dy * (round(x/s) - x/s) inside the range, qmin or qmax where clipped.
static Napi::Value LsqStepGrad(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1), scale = arg<float>(info, 2);
  const int C = argInt(info, 3), qmin = argInt(info, 4), qmax = argInt(info, 5);
  const float g = argFloat(info, 6);
  auto ds = arg<float>(info, 7);
  std::vector<double> sums(C);
  channelSum(x.length, C, sums.data(), [&](size_t i) {
    const float v = x.data[i] / scale.data[channelOf(i, C)];
    double d;
    if (v <= float(qmin)) d = qmin;
    else if (v >= float(qmax)) d = qmax;
    else d = double(std::nearbyint(v)) - double(v);
    return double(dy.data[i]) * d;
  });
  for (int c = 0; c < C; c++) ds.data[c] = float(sums[c] * g);
  return info.Env().Undefined();
}

// pactAlphaGrad(dy, x, alpha, dalpha[1]): dα = sum dy where x >= α (Choi et al. 2018).
static Napi::Value PactAlphaGrad(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1);
  const float a = argFloat(info, 2);
  auto da = arg<float>(info, 3);
  double s = 0;
  channelSum(x.length, 1, &s, [&](size_t i) { return x.data[i] >= a ? double(dy.data[i]) : 0.0; });
  da.data[0] = float(s);
  return info.Env().Undefined();
}

// channelStats(x, C, min[C], max[C], maxAbs[C], sumAbs[C]): one pass over a channel-last
// tensor (calibration statistics of every format's fit). Each thread accumulates in its own
// buffers and publishes once at the end: shared per-thread slots would sit on one cache line
// when C is small and make every element a false-sharing write (measured: 16 ns/element).
static Napi::Value ChannelStats(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  const int C = argInt(info, 1);
  auto mn = arg<float>(info, 2), mx = arg<float>(info, 3), ma = arg<float>(info, 4);
  auto sa = arg<double>(info, 5);
  const size_t n = x.length;
  if (C == 1) {
    float lo = INFINITY, hi = -INFINITY;
    double sum = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(min : lo) reduction(max : hi) reduction(+ : sum) if (n > kPar)
    for (size_t b0 = 0; b0 < n; b0 += 4096) {
      const size_t b1 = std::min(n, b0 + 4096);
      float l = INFINITY, h = -INFINITY, s = 0.f;
      for (size_t i = b0; i < b1; i++) {
        const float v = x.data[i];
        l = v < l ? v : l;
        h = v > h ? v : h;
        s += std::fabs(v);
      }
      lo = std::min(lo, l), hi = std::max(hi, h), sum += s;
    }
    mn.data[0] = lo, mx.data[0] = hi, ma.data[0] = std::max(std::fabs(lo), std::fabs(hi)), sa.data[0] = sum;
    return info.Env().Undefined();
  }
  const size_t rows = n / size_t(C);
  const int T = threads();
  std::vector<std::vector<float>> tmn(T), tmx(T), tma(T);
  std::vector<std::vector<double>> tsa(T);
#pragma omp parallel num_threads(T) if (n > kPar)
  {
    const int t = omp_get_thread_num();
    std::vector<float> a(C, INFINITY), b(C, -INFINITY), m(C, 0.f), blockSum(C, 0.f);
    std::vector<double> sums(C, 0.0);
    size_t inBlock = 0;
#pragma omp for schedule(static)
    for (size_t r = 0; r < rows; r++) {
      const float* xr = x.data + r * C;
      for (int c = 0; c < C; c++) {
        const float v = xr[c], av = std::fabs(v);
        a[c] = v < a[c] ? v : a[c];
        b[c] = v > b[c] ? v : b[c];
        m[c] = av > m[c] ? av : m[c];
        blockSum[c] += av;
      }
      // Float partial sums over short blocks, flushed to double, keep the mean accurate.
      if (++inBlock == 64) {
        for (int c = 0; c < C; c++) sums[c] += blockSum[c], blockSum[c] = 0.f;
        inBlock = 0;
      }
    }
    for (int c = 0; c < C; c++) sums[c] += blockSum[c];
    tmn[t] = std::move(a), tmx[t] = std::move(b), tma[t] = std::move(m), tsa[t] = std::move(sums);
  }
  for (int c = 0; c < C; c++) {
    float a = INFINITY, b = -INFINITY, m = 0.f;
    double sum = 0;
    for (int t = 0; t < T; t++) {
      if (tmn[t].empty()) continue;  // thread did not run (serial region)
      a = std::min(a, tmn[t][c]), b = std::max(b, tmx[t][c]), m = std::max(m, tma[t][c]), sum += tsa[t][c];
    }
    mn.data[c] = a, mx.data[c] = b, ma.data[c] = m, sa.data[c] = sum;
  }
  return info.Env().Undefined();
}

// uniformMseCandidates(x f32[n], C, scale f64[C·K], zp f64[C·K], qmin, qmax, out f64[C·K]): the
// mean squared error of channel c of x (channel-last) on each of its K candidate grids, with
// the arithmetic of uniformMse in src/quant/uniform.ts step for step (float32 division, half to
// even, float32 dequantization, a double sum in element order), so the chosen grid is the one
// the TypeScript search picks. The MSE calibration of int weights refits every 50 steps and
// spent a large share of a vgg9 QAT step in the TypeScript loop.
static Napi::Value UniformMseCandidates(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  const int C = argInt(info, 1);
  auto sc = arg<double>(info, 2), zp = arg<double>(info, 3);
  const int qmin = argInt(info, 4), qmax = argInt(info, 5);
  auto out = arg<double>(info, 6);
  const size_t n = x.length;
  if (C < 1 || n % size_t(C) || sc.length % size_t(C) || zp.length != sc.length || out.length != sc.length || qmin > qmax)
    fail("uniformMseCandidates: array lengths do not match");
  const size_t K = sc.length / size_t(C), m = n / size_t(C), jobs = size_t(C) * K;
#pragma omp parallel for num_threads(threads()) schedule(dynamic, 4) if (n * K > kPar)
  for (size_t ck = 0; ck < jobs; ck++) {
    const size_t c = ck / K;
    const float s = float(sc.data[ck]);
    const double z = zp.data[ck];
    double e = 0;
    for (size_t i = 0; i < m; i++) {
      const float v = x.data[i * size_t(C) + c];
      double q = std::nearbyint(double(v / s)) + z;
      q = q < qmin ? double(qmin) : q > qmax ? double(qmax) : q;
      const double d = double(v) - double(float((q - z) * double(s)));
      e += d * d;
    }
    out.data[ck] = e / double(std::max<size_t>(m, 1));
  }
  return info.Env().Undefined();
}

void registerFakeQuant(Napi::Env env, Napi::Object exports) {
  exports.Set("uniformMseCandidates", Napi::Function::New(env, UniformMseCandidates));
  exports.Set("channelStats", Napi::Function::New(env, ChannelStats));
  exports.Set("fqUniform", Napi::Function::New(env, Uniform));
  exports.Set("fqBinary", Napi::Function::New(env, Binary));
  exports.Set("fqTernary", Napi::Function::New(env, Ternary));
  exports.Set("fqTable", Napi::Function::New(env, Table));
  exports.Set("fqEsb", Napi::Function::New(env, Esb));
  exports.Set("maskGrad", Napi::Function::New(env, MaskGrad));
  exports.Set("lsqStepGrad", Napi::Function::New(env, LsqStepGrad));
  exports.Set("pactAlphaGrad", Napi::Function::New(env, PactAlphaGrad));
}
LOWBIT_REGISTER(registerFakeQuant);

}  // namespace lowbit

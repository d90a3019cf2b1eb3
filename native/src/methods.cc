// Per-weight bookkeeping of the retraining methods, one pass over a layer's weights each step
// (a JavaScript loop over millions of weights would cost more than the convolution it serves):
//   - stochastic quantization (SQ): per-channel L1 quantization error, restoring the full-
//     precision values of the channels or elements kept unquantized, and the element-wise
//     roulette selection;
//   - MPQ: tracking each weight's base-grid code and its switch frequency, and the
//     threshold-aware learning-rate scaling of gradients.
// The TypeScript references live in src/train/methods/ (sq-select.ts, mpq-track.ts); tests
// hold the two to agreement.
#include "common.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <omp.h>
#include <vector>

// The MPQ frequency EMA must equal the TypeScript reference bit for bit: no fused multiply-add.
#pragma GCC optimize("fp-contract=off")

namespace lowbit {

static constexpr size_t kPar = 1 << 15;

static inline int channelOf(size_t i, int C) { return C == 1 ? 0 : int(i % size_t(C)); }

// lowbias32 (Wellons): the element-wise selection's random numbers are a pure function of
// (seed, index), so they do not depend on the thread count; mirrored in sq-select.ts.
static inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// channelL1Error(x, q, C, num f64[C], den f64[C]): num[c] = Σ|x - q|, den[c] = Σ|x| over channel c.
static Napi::Value ChannelL1Error(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), q = arg<float>(info, 1);
  const int C = argInt(info, 2);
  auto num = arg<double>(info, 3), den = arg<double>(info, 4);
  const size_t n = x.length;
  if (q.length != n || num.length != size_t(C) || den.length != size_t(C) || n % size_t(C) != 0)
    fail("channelL1Error: array lengths do not match");
  const int T = threads();
  std::vector<std::vector<double>> tn(T, std::vector<double>(C, 0.0)), td(T, std::vector<double>(C, 0.0));
  const size_t rows = n / size_t(C);
#pragma omp parallel num_threads(T) if (n > kPar)
  {
    const int t = omp_get_thread_num();
    double* a = tn[t].data();
    double* b = td[t].data();
#pragma omp for schedule(static)
    for (size_t r = 0; r < rows; r++) {
      const float* xr = x.data + r * C;
      const float* qr = q.data + r * C;
      for (int c = 0; c < C; c++) a[c] += std::fabs(xr[c] - qr[c]), b[c] += std::fabs(xr[c]);
    }
  }
  for (int c = 0; c < C; c++) {
    double s = 0, d = 0;
    for (int t = 0; t < T; t++) s += tn[t][c], d += td[t][c];
    num.data[c] = s, den.data[c] = d;
  }
  return info.Env().Undefined();
}

// keepChannels(x, out, mask, keep u8[C], C): channels with keep[c] take their full-precision
// values and pass the gradient unchanged.
static Napi::Value KeepChannels(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2), keep = arg<uint8_t>(info, 3);
  const int C = argInt(info, 4);
  const size_t n = x.length;
  if (out.length != n || mask.length != n || keep.length != size_t(C)) fail("keepChannels: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++)
    if (keep.data[channelOf(i, C)]) out.data[i] = x.data[i], mask.data[i] = 1;
  return info.Env().Undefined();
}

// keepElements(x, out, mask, count, fn, deterministic, seed): keeps `count` elements at full
// precision, chosen by roulette without replacement with weight f(e_i / mean e) where
// e_i = |x - q| / |x| (Efraimidis–Spirakis keys log w - log(-log u)), or the `count` largest
// errors when deterministic. Returns the number kept.
// The count-th largest of the keys (1-based), exactly. On millions of keys a full nth_element is
// most of the step, so a sorted sample brackets it first: one parallel pass counts the keys above
// the bracket, and only those inside it are selected among (falls back to the full selection
// when the bracket misses, which the margin of many standard deviations makes rare).
static double kthLargest(const std::vector<double>& key, size_t count) {
  const size_t n = key.size();
  constexpr size_t kSample = 1 << 16, kMargin = 1024;
  if (n > 8 * kSample) {
    std::vector<double> sample(kSample);
    for (size_t j = 0; j < kSample; j++) sample[j] = key[(j * n) / kSample];
    std::sort(sample.begin(), sample.end(), std::greater<double>());
    const size_t r = size_t(double(count) / double(n) * double(kSample));
    const double hi = sample[r > kMargin ? r - kMargin : 0], lo = sample[std::min(kSample - 1, r + kMargin)];
    size_t above = 0, band = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : above, band)
    for (size_t i = 0; i < n; i++) {
      above += key[i] > hi;
      band += key[i] <= hi && key[i] >= lo;
    }
    if (above < count && count <= above + band) {
      std::vector<double> inside;
      inside.reserve(band);
      for (size_t i = 0; i < n; i++)
        if (key[i] <= hi && key[i] >= lo) inside.push_back(key[i]);
      const size_t k = count - above - 1;
      std::nth_element(inside.begin(), inside.begin() + k, inside.end(), std::greater<double>());
      return inside[k];
    }
  }
  std::vector<double> sorted(key);
  std::nth_element(sorted.begin(), sorted.begin() + (count - 1), sorted.end(), std::greater<double>());
  return sorted[count - 1];
}

static Napi::Value KeepElements(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  auto mask = arg<uint8_t>(info, 2);
  const double countD = info[3].As<Napi::Number>().DoubleValue();
  const int fn = argInt(info, 4), deterministic = argInt(info, 5);
  const uint32_t seed = info[6].As<Napi::Number>().Uint32Value();
  const size_t n = x.length;
  if (out.length != n || mask.length != n) fail("keepElements: array lengths do not match");
  if (!(countD >= 0) || countD > double(n)) fail("keepElements: count out of range");
  const size_t count = size_t(countD);
  if (count == 0) return Napi::Number::New(info.Env(), 0);
  std::vector<float> err(n);
  double sum = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : sum) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const float a = std::fabs(x.data[i]);
    const float e = a > 0.f ? std::fabs(x.data[i] - out.data[i]) / a : 0.f;
    err[i] = e;
    sum += e;
  }
  const double mean = sum / double(n);
  std::vector<double> key(n);
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    if (deterministic) {
      key[i] = err[i];
      continue;
    }
    const double z = mean > 0 ? double(err[i]) / mean : 1.0;
    const double u = (double(hash32(seed ^ hash32(uint32_t(i)))) + 0.5) / 4294967296.0;
    // exp(key) = f(z)/E with E = −log u orders the elements as the key does, with one logarithm
    // instead of three (the logarithms were most of this kernel); softmax's f = e^z may overflow,
    // so it keeps the logarithmic form.
    const double E = -std::log(u);
    switch (fn) {
      case 0: key[i] = -E; break;
      case 1: key[i] = z / E; break;
      case 2: key[i] = z - std::log(E); break;
      default: key[i] = 1 / ((1 + std::exp(-z)) * E);
    }
  }
  // The `count` largest keys, ties broken by the smaller index (reproducible): find the count-th
  // largest key on a contiguous copy (no indirect comparisons, which cost more than the rest of
  // the step on millions of weights), then keep every key above it and the first tied ones.
  const double kth = kthLargest(key, count);
  size_t above = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : above) if (n > kPar)
  for (size_t i = 0; i < n; i++)
    if (key[i] > kth) {
      out.data[i] = x.data[i], mask.data[i] = 1;
      above++;
    }
  for (size_t i = 0, tied = count - above; i < n && tied > 0; i++)
    if (key[i] == kth) {
      out.data[i] = x.data[i], mask.data[i] = 1;
      tied--;
    }
  return Napi::Number::New(info.Env(), double(count));
}

// mpqTrack(w, scale[C], C, qmax, codes i8[n], freq f32[n], momentum, init): the base-grid code
// k = clamp(rhe(w / Δc), ±qmax) of every weight; a switch is a move to a contiguous level
// (|k - previous| = 1); freq ← (1 - m)·freq + m·switch. With init, only records the codes.
// Returns the number of switches.
static Napi::Value MpqTrack(const Napi::CallbackInfo& info) {
  auto w = arg<float>(info, 0), scale = arg<float>(info, 1);
  const int C = argInt(info, 2), qmax = argInt(info, 3);
  auto codes = arg<int8_t>(info, 4);
  auto freq = arg<float>(info, 5);
  const float m = argFloat(info, 6);
  const bool init = argInt(info, 7) != 0;
  const size_t n = w.length;
  if (codes.length != n || freq.length != n || scale.length != size_t(C)) fail("mpqTrack: array lengths do not match");
  if (qmax < 1 || qmax > 127) fail("mpqTrack: qmax out of range");
  double switches = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : switches) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    float k = std::nearbyint(w.data[i] / scale.data[channelOf(i, C)]);
    k = k < -qmax ? float(-qmax) : (k > qmax ? float(qmax) : k);
    const int ki = int(k);
    if (!init) {
      const int d = ki - int(codes.data[i]);
      const float s = (d == 1 || d == -1) ? 1.f : 0.f;
      freq.data[i] = (1.f - m) * freq.data[i] + m * s;
      switches += s;
    }
    codes.data[i] = int8_t(ki);
  }
  return Napi::Number::New(info.Env(), switches);
}

// mpqLrScale(w, g, out, scale[C], C, qmax, flags|null, delta, beta): out = β·g for weights
// within δ·Δ of a decision threshold of their grid (midpoints between levels of the base grid,
// or of the half-step grid for flagged weights; none beyond the outermost level), g elsewhere.
// Returns how many were scaled.
static Napi::Value MpqLrScale(const Napi::CallbackInfo& info) {
  auto w = arg<float>(info, 0), g = arg<float>(info, 1), out = arg<float>(info, 2);
  auto scale = arg<float>(info, 3);
  const int C = argInt(info, 4), qmax = argInt(info, 5);
  auto flags = arg<uint8_t>(info, 6);
  const float delta = argFloat(info, 7), beta = argFloat(info, 8);
  const size_t n = w.length;
  if (g.length != n || out.length != n || scale.length != size_t(C) || (flags.data && flags.length != n))
    fail("mpqLrScale: array lengths do not match");
  double scaled = 0;
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : scaled) if (n > kPar)
  for (size_t i = 0; i < n; i++) {
    const bool fine = flags.data && flags.data[i];
    const float s = scale.data[channelOf(i, C)];
    const float step = fine ? s / 2.f : s;
    const float v = w.data[i] / step;
    // Distance (in steps) to the nearest midpoint between levels, inside the grid's range.
    const float dist = std::fabs(v - std::floor(v) - 0.5f);
    const bool near = std::fabs(v) < float(fine ? 2 * qmax : qmax) && dist * step < delta * s;
    out.data[i] = near ? beta * g.data[i] : g.data[i];
    scaled += near ? 1 : 0;
  }
  return Napi::Number::New(info.Env(), scaled);
}

void registerMethods(Napi::Env env, Napi::Object exports) {
  exports.Set("channelL1Error", Napi::Function::New(env, ChannelL1Error));
  exports.Set("keepChannels", Napi::Function::New(env, KeepChannels));
  exports.Set("keepElements", Napi::Function::New(env, KeepElements));
  exports.Set("mpqTrack", Napi::Function::New(env, MpqTrack));
  exports.Set("mpqLrScale", Napi::Function::New(env, MpqLrScale));
}
LOWBIT_REGISTER(registerMethods);

}  // namespace lowbit

// Per-weight kernels of DropBits (semi-relaxed quantization, Lee et al. 2021): the hard forward
// onto each weight's own int grid, the multi-class straight-through backward through the masked
// grid-point probabilities, and the relaxed Bernoulli masks. The definitions and the TypeScript
// reference the tests compare against are in src/train/methods/dropbits-grid.ts.
#include "common.h"
#include <cmath>
#include <omp.h>
#include <vector>

namespace lowbit {

static constexpr size_t kParDrop = 1 << 13;
static constexpr int kMaxGroups = 6;
static constexpr int kMaxPoints = 255;

struct Grid {
  int maxBits, minBits, groups, L;
  int q[kMaxPoints];
  int group[kMaxPoints];
};

static Grid makeGrid(int maxBits, int minBits) {
  if (minBits < 2 || maxBits < minBits || maxBits > 8) fail("dropbits: bit widths must satisfy 2 <= minBits <= maxBits <= 8");
  Grid g{};
  g.maxBits = maxBits, g.minBits = minBits, g.groups = maxBits - minBits;
  const int Q = (1 << (maxBits - 1)) - 1;
  g.L = 2 * Q + 1;
  for (int j = 0; j < g.L; j++) {
    const int v = j - Q;
    int b = minBits;
    for (; b < maxBits; b++) {
      const int stride = 1 << (maxBits - b);
      if (v % stride == 0 && std::abs(v) <= ((1 << (b - 1)) - 1) * stride) break;
    }
    g.q[j] = v, g.group[j] = b - minBits;
  }
  return g;
}

static inline int weightBits(const Grid& g, const float* m) {
  int b = g.minBits;
  for (int k = 0; k < g.groups && m[k] > 0.5f; k++) b++;
  return b;
}

// The int format's rounding: float32 division, half to even, saturation (ONNX QuantizeLinear).
static inline float quantCode(float x, float s, int qm) {
  float q = std::nearbyint(x / s) + 0.0f;  // + 0 turns −0 into 0, as the zero point does in TypeScript
  return q < -qm ? float(-qm) : q > qm ? float(qm) : q;
}

static inline double sigmoid(double u) { return u >= 0 ? 1 / (1 + std::exp(-u)) : std::exp(u) / (1 + std::exp(u)); }

// The cell probabilities of one weight without cancellation (cellProbabilities in
// dropbits-grid.ts): E_k = e^{−z_k} = E_0·r^k, t_k = 1/(1+E_k), π_j = E_j(1−r)·t_j·t_{j+1},
// dt_k = E_k·t_k² — one exp per weight; where E_0 overflows, the tiny t_k one by one.
static inline void cellProbabilities(double z0, double kappa, double r, int L, double* t, double* dt, double* pi) {
  if (z0 > -700) {
    double e = std::exp(-z0), prev = 0;
    for (int k = 0; k <= L; k++, prev = e, e *= r) {
      t[k] = 1 / (1 + e);
      dt[k] = e * t[k] * t[k];
      if (k > 0) pi[k - 1] = prev * (1 - r) * t[k - 1] * t[k];
    }
    return;
  }
  for (int k = 0; k <= L; k++) {
    t[k] = sigmoid(z0 + k / kappa);
    dt[k] = t[k] * (1 - t[k]);
    if (k > 0) pi[k - 1] = t[k] - t[k - 1];
  }
}

// dropbitsForward(x f32[n], alpha f32[C], maxBits, minBits, masks f32[n·G] | null, out f32[n])
static Napi::Value DropForward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  auto alpha = arg<float>(info, 1);
  const Grid g = makeGrid(argInt(info, 2), argInt(info, 3));
  auto m = arg<float>(info, 4);
  auto out = arg<float>(info, 5);
  const size_t C = alpha.length;
  if (C < 1 || x.length % C || out.length != x.length || (m.data && m.length != x.length * size_t(g.groups)))
    fail("dropbitsForward: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (x.length > kParDrop)
  for (size_t i = 0; i < x.length; i++) {
    const int b = m.data ? weightBits(g, m.data + i * g.groups) : g.maxBits;
    const float s = alpha.data[C == 1 ? 0 : i % C] * float(1 << (g.maxBits - b));
    out.data[i] = quantCode(x.data[i], s, (1 << (b - 1)) - 1) * s;
  }
  return info.Env().Undefined();
}

// dropbitsBackward(x, alpha, maxBits, minBits, masks f32[n·G], gy f32[n], kappa, concreteTemp,
//                  gx f32[n], galpha f64[C], gtheta f64[G])
static Napi::Value DropBackward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  auto alpha = arg<float>(info, 1);
  const Grid g = makeGrid(argInt(info, 2), argInt(info, 3));
  auto m = arg<float>(info, 4);
  auto gy = arg<float>(info, 5);
  const double kappa = info[6].As<Napi::Number>().DoubleValue(), lam = info[7].As<Napi::Number>().DoubleValue();
  auto gx = arg<float>(info, 8);
  auto galpha = arg<double>(info, 9);
  auto gtheta = arg<double>(info, 10);
  const size_t C = alpha.length, n = x.length;
  const int G = g.groups, L = g.L;
  if (C < 1 || n % C || gy.length != n || gx.length != n || galpha.length != C || gtheta.length != size_t(G) ||
      m.length != n * size_t(G) || G > kMaxGroups)
    fail("dropbitsBackward: array lengths do not match");
  if (!(kappa > 0) || !(lam > 0)) fail("dropbitsBackward: kappa and the concrete temperature must be positive");
  const int T = n > kParDrop ? threads() : 1;
  const double r = std::exp(-1 / kappa);
  // Per-thread partial sums of the per-channel and per-bit gradients, added in thread order.
  std::vector<double> pa(size_t(T) * C, 0.0), pt(size_t(T) * kMaxGroups, 0.0);
#pragma omp parallel num_threads(T)
  {
    const int tid = omp_get_thread_num();
    double* ga_t = pa.data() + size_t(tid) * C;
    double* gt_t = pt.data() + size_t(tid) * kMaxGroups;
    double t[kMaxPoints + 1], dt[kMaxPoints + 1], M[kMaxPoints], pi[kMaxPoints];
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) {
      const size_t c = C == 1 ? 0 : i % C;
      const double a = alpha.data[c], tau = kappa * a, xi = x.data[i];
      const float* mi = m.data + i * G;
      cellProbabilities((a * (g.q[0] - 0.5) - xi) / tau, kappa, r, L, t, dt, pi);
      // M_j: the product of the masks of the bits grid point j needs (prefix products over the bits).
      double mp[kMaxGroups + 1];
      mp[0] = 1;
      for (int k = 0; k < G; k++) mp[k + 1] = mp[k] * mi[k];
      double S = 0, num = 0;
      for (int j = 0; j < L; j++) {
        M[j] = mp[g.group[j]];
        S += M[j] * pi[j];
        num += M[j] * pi[j] * g.q[j];
      }
      const int b = weightBits(g, mi), stride = 1 << (g.maxBits - b);
      const float s = alpha.data[c] * float(stride);
      ga_t[c] += double(gy.data[i]) * double(quantCode(x.data[i], s, (1 << (b - 1)) - 1)) * stride;
      if (!(S > 1e-300)) {
        gx.data[i] = 0;
        continue;
      }
      // ∂L/∂s_j = gy·α(q_j − q̄)/S; the x and α gradients share Σ_j ∂L/∂s_j·M_j·dπ_j, and θ_k
      // collects ∂L/∂s_j·π_j·M_j over the points that need bit k (those of group > k).
      const double scale = double(gy.data[i]) * a / S, qbar = num / S;
      double D = 0, P[kMaxGroups + 1] = {0};
      for (int j = 0; j < L; j++) {
        const double w = scale * (g.q[j] - qbar) * M[j];
        D += w * (dt[j + 1] - dt[j]);
        P[g.group[j]] += w * pi[j];
      }
      double above = 0;
      for (int k = G - 1; k >= 0; k--) {
        above += P[k + 1];
        gt_t[k] += above * (1 - mi[k]) / lam;
      }
      gx.data[i] = float(-D / tau);
      ga_t[c] += D * xi / (kappa * a * a);
    }
  }
  for (int tid = 0; tid < T; tid++) {
    for (size_t c = 0; c < C; c++) galpha.data[c] += pa[size_t(tid) * C + c];
    for (int k = 0; k < G; k++) gtheta.data[k] += pt[size_t(tid) * kMaxGroups + k];
  }
  return info.Env().Undefined();
}

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

// dropbitsSample(theta f32[G], concreteTemp, seed u32, out f32[n·G]): relaxed Bernoulli masks
// σ((θ_k + log u − log(1−u))/λ), u from the counter hash of (seed, index).
static Napi::Value DropSample(const Napi::CallbackInfo& info) {
  auto theta = arg<float>(info, 0);
  const double lam = info[1].As<Napi::Number>().DoubleValue();
  const uint32_t seed = info[2].As<Napi::Number>().Uint32Value();
  auto out = arg<float>(info, 3);
  const size_t G = theta.length;
  if (G < 1 || out.length % G) fail("dropbitsSample: the mask array is not a whole number of weights");
  if (!(lam > 0)) fail("dropbitsSample: the concrete temperature must be positive");
#pragma omp parallel for num_threads(threads()) schedule(static) if (out.length > kParDrop)
  for (size_t i = 0; i < out.length; i++) {
    const uint32_t h = fmix32(fmix32(uint32_t(i) * 0x9e3779b1u ^ seed) + seed);
    // Single precision: the masks are float32 anyway, and logf/expf halve this kernel's time.
    const float u = (float(h >> 8) + 0.5f) / 16777216.0f;
    const float z = (theta.data[i % G] + std::log(u / (1 - u))) / float(lam);
    out.data[i] = z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
  }
  return info.Env().Undefined();
}

void registerDropBits(Napi::Env env, Napi::Object exports) {
  exports.Set("dropbitsForward", Napi::Function::New(env, DropForward));
  exports.Set("dropbitsBackward", Napi::Function::New(env, DropBackward));
  exports.Set("dropbitsSample", Napi::Function::New(env, DropSample));
}
LOWBIT_REGISTER(registerDropBits);

}  // namespace lowbit

// Integer inference kernels of the packed-model runtime (src/deploy/runtime/). Activations
// between integer layers are bytes: the integer level of each value plus an offset (0 for
// unsigned grids, 128 for signed ones). qconv runs a whole conv/dense layer in one pass per tile
// of 4 output pixels: gather the pixels' input windows (im2col of bytes, on the fly), an AVX2
// u8×s8 GEMM with int32 accumulators, and the fixed-point epilogue straight into the next
// layer's bytes (or float logits). Bit-exact with the TypeScript path (ops.ts, requant.ts):
// integer arithmetic throughout, __int128 for acc·M + B, float outputs in double without
// contraction.
//
// Weights are packed (native-conv.ts) into blocks of 8 output channels: for block b and group
// k4 of 4 reduction entries, 8 channels × 4 bytes. A group of 4 input bytes is broadcast and
// multiplied with a block (_mm256_maddubs_epi16: u8·s8 pairs summed to int16), then widened
// (_mm256_madd_epi16 against ones). maddubs saturates at ±32767: with activations up to 127 a
// pair sum stays below 2·127·128, and small levels (4-bit and below) let several groups add up
// in int16 before widening, halving the multiplies; activations above 127 take the exact
// 16-bit path (madd_epi16 on widened values).
#include "common.h"
#include <immintrin.h>
#include <omp.h>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#pragma GCC optimize("fp-contract=off")

namespace lowbit {

namespace {

struct Geometry {
  int N, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, outH, outW;
};

// One output pixel's input window as Kp bytes (zero-level `pad` outside the image, 0 past K).
inline void gather(const uint8_t* x, const Geometry& g, size_t p, int Kp, uint8_t pad, uint8_t* row) {
  const int n = int(p / (size_t(g.outH) * g.outW)), rem = int(p % (size_t(g.outH) * g.outW)), oh = rem / g.outW, ow = rem % g.outW;
  int k = 0;
  for (int i = 0; i < g.kh; i++) {
    const int ih = oh * g.sh - g.padT + i * g.dh;
    for (int j = 0; j < g.kw; j++) {
      const int iw = ow * g.sw - g.padL + j * g.dw;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) std::memset(row + k, pad, g.C);
      else std::memcpy(row + k, x + ((size_t(n) * g.H + ih) * g.W + iw) * g.C, g.C);
      k += g.C;
    }
  }
  std::memset(row + k, 0, Kp - k);
}

// Accumulators of 4 rows × 16 channels (blocks b and b+1) over the whole reduction.
inline void tile(const uint8_t* const a[4], const int8_t* w0, const int8_t* w1, int K4, int steps, __m256i s[8]) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int i = 0; i < 8; i++) s[i] = _mm256_setzero_si256();
  if (steps > 0) {
    for (int k0 = 0; k0 < K4; k0 += steps) {
      const int k1 = std::min(K4, k0 + steps);
      __m256i h[8];
      for (int i = 0; i < 8; i++) h[i] = _mm256_setzero_si256();
      for (int k4 = k0; k4 < k1; k4++) {
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + size_t(k4) * 32));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1 + size_t(k4) * 32));
        for (int r = 0; r < 4; r++) {
          int32_t gv;
          std::memcpy(&gv, a[r] + k4 * 4, 4);
          const __m256i av = _mm256_set1_epi32(gv);
          h[2 * r] = _mm256_add_epi16(h[2 * r], _mm256_maddubs_epi16(av, x0));
          h[2 * r + 1] = _mm256_add_epi16(h[2 * r + 1], _mm256_maddubs_epi16(av, x1));
        }
      }
      for (int i = 0; i < 8; i++) s[i] = _mm256_add_epi32(s[i], _mm256_madd_epi16(h[i], ones));
    }
    return;
  }
  const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (int k4 = 0; k4 < K4; k4++)
    for (int j = 0; j < 2; j++) {
      const int8_t* wb = (j ? w1 : w0) + size_t(k4) * 32;
      // Widen the 32 weight bytes to int16 in two halves (channels 0-3, 4-7).
      const __m256i wlo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb)));
      const __m256i whi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + 16)));
      for (int r = 0; r < 4; r++) {
        const uint8_t* x = a[r] + k4 * 4;
        // Activation pairs (a0,a1),(a2,a3) as int16, repeated for 4 channels.
        const int32_t p01 = int32_t(x[0]) | (int32_t(x[1]) << 16), p23 = int32_t(x[2]) | (int32_t(x[3]) << 16);
        const __m256i av = _mm256_setr_epi32(p01, p23, p01, p23, p01, p23, p01, p23);
        // Channel c's two pair sums sit in lanes 2c, 2c+1: add them, then restore channel order.
        const __m256i sum = _mm256_hadd_epi32(_mm256_madd_epi16(av, wlo), _mm256_madd_epi16(av, whi));
        s[2 * r + j] = _mm256_add_epi32(s[2 * r + j], _mm256_permutevar8x32_epi32(sum, order));
      }
    }
}

}  // namespace

// qconv(x u8, geo i32[14], Wp i8, Kp, N, steps, corr i32[N]|null, pad, mode, ...):
//   mode 0 (grid): M f64[N], B f64[N], shift i32[N], thresholds f64[T], minIndex, outBytes u8[T+1], out u8[P*N]
//     byte = outBytes[max(minIndex, #{t <= floor((acc·M + B) / 2^shift)})]
//   mode 1 (float): a f64[N], b f64[N], relu, out f32[P*N]: y = acc·a + b (ReLU)
// acc = Σ_k window[k]·W[k][n] − corr[n] (corr removes a signed grid's offset: 128·Σ_k W[k][n]).
static Napi::Value Qconv(const Napi::CallbackInfo& info) {
  auto x = arg<uint8_t>(info, 0);
  auto gd = arg<int32_t>(info, 1);
  auto Wp = arg<int8_t>(info, 2);
  const int Kp = argInt(info, 3), N = argInt(info, 4), steps = argInt(info, 5);
  auto corr = arg<int32_t>(info, 6);
  const int pad = argInt(info, 7), mode = argInt(info, 8);
  if (gd.length != 14) fail("qconv: geometry must have 14 entries");
  const Geometry g{gd.data[0], gd.data[1], gd.data[2], gd.data[3], gd.data[4], gd.data[5], gd.data[6],
                   gd.data[7], gd.data[8], gd.data[9], gd.data[10], gd.data[11], gd.data[12], gd.data[13]};
  const size_t P = size_t(g.N) * g.outH * g.outW;
  const int K = g.kh * g.kw * g.C, nb = (N + 7) / 8, K4 = Kp / 4;
  if (Kp % 4 || Kp < K || x.length != size_t(g.N) * g.H * g.W * g.C || Wp.length != size_t(nb) * Kp * 8 || steps < 0 ||
      (corr.data && corr.length != size_t(N)) || pad < 0 || pad > 255)
    fail("qconv: array lengths do not match");
  // Epilogue parameters.
  Span<double> M, B, th, fa, fb;
  Span<int32_t> shift;
  Span<uint8_t> outBytes, out8;
  Span<float> outF;
  int minIndex = 0;
  bool relu = false;
  if (mode == 0) {
    M = arg<double>(info, 9), B = arg<double>(info, 10);
    shift = arg<int32_t>(info, 11);
    th = arg<double>(info, 12);
    minIndex = argInt(info, 13);
    outBytes = arg<uint8_t>(info, 14);
    out8 = arg<uint8_t>(info, 15);
    if (M.length != size_t(N) || B.length != size_t(N) || shift.length != size_t(N) || outBytes.length != th.length + 1 ||
        out8.length != P * N || minIndex < 0 || size_t(minIndex) > th.length)
      fail("qconv: grid epilogue lengths do not match");
  } else {
    fa = arg<double>(info, 9), fb = arg<double>(info, 10);
    relu = argInt(info, 11) != 0;
    outF = arg<float>(info, 12);
    if (fa.length != size_t(N) || fb.length != size_t(N) || outF.length != P * N) fail("qconv: float epilogue lengths do not match");
  }
  std::vector<int64_t> Mi(N), Bi(N), ti(th.length);
  for (int c = 0; mode == 0 && c < N; c++) Mi[c] = int64_t(M.data[c]), Bi[c] = int64_t(B.data[c]);
  for (size_t t = 0; t < th.length; t++) ti[t] = int64_t(th.data[t]);
  const int T = int(th.length);
  const size_t tiles = (P + 3) / 4;
#pragma omp parallel num_threads(threads()) if (P * size_t(K) * N > (1 << 18))
  {
    std::vector<uint8_t> buf(size_t(4) * Kp);
#pragma omp for schedule(dynamic, 8)
    for (size_t t = 0; t < tiles; t++) {
      const size_t p0 = t * 4;
      const int rows = int(std::min<size_t>(4, P - p0));
      const uint8_t* a[4];
      for (int r = 0; r < 4; r++) {
        if (r < rows) gather(x.data, g, p0 + r, Kp, uint8_t(pad), buf.data() + size_t(r) * Kp);
        a[r] = buf.data() + size_t(r < rows ? r : 0) * Kp;
      }
      for (int b = 0; b < nb; b += 2) {
        const bool two = b + 1 < nb;
        const int8_t* w0 = Wp.data + size_t(b) * Kp * 8;
        __m256i s[8];
        tile(a, w0, two ? w0 + size_t(Kp) * 8 : w0, K4, steps, s);
        for (int j = 0; j < (two ? 2 : 1); j++) {
          const int base = (b + j) * 8, nc = std::min(8, N - base);
          for (int r = 0; r < rows; r++) {
            alignas(32) int32_t acc[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(acc), s[2 * r + j]);
            const size_t o = (p0 + r) * N + base;
            for (int c = 0; c < nc; c++) {
              const int ch = base + c;
              const int32_t v = acc[c] - (corr.data ? corr.data[ch] : 0);
              if (mode == 0) {
                // Arithmetic shift of a signed value is floor division by 2^shift.
                const int64_t V = int64_t((__int128(v) * Mi[ch] + Bi[ch]) >> shift.data[ch]);
                int lo = 0, hi = T;
                while (lo < hi) {
                  const int mid = (lo + hi) >> 1;
                  if (ti[mid] <= V) lo = mid + 1;
                  else hi = mid;
                }
                out8.data[o + c] = outBytes.data[lo > minIndex ? lo : minIndex];
              } else {
                const double prod = double(v) * fa.data[ch];
                const double y = prod + fb.data[ch];
                outF.data[o + c] = float(relu && y < 0 ? 0.0 : y);
              }
            }
          }
        }
      }
    }
  }
  return info.Env().Undefined();
}

// quantizeBytes(x f32[n], scale, zp, qmin, qmax, lut u8[qmax-qmin+1], out u8[n]): the byte of the
// code q = clamp(rhe(x / s) + zp) of a per-tensor uniform grid, with float32 division as in
// training (fqUniform).
static Napi::Value QuantizeBytes(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  const float s = argFloat(info, 1), z = argFloat(info, 2);
  const int qmin = argInt(info, 3), qmax = argInt(info, 4);
  auto lut = arg<uint8_t>(info, 5);
  auto out = arg<uint8_t>(info, 6);
  if (out.length != x.length || qmax < qmin || lut.length != size_t(qmax - qmin + 1)) fail("quantizeBytes: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (x.length > (1 << 15))
  for (size_t i = 0; i < x.length; i++) {
    float q = std::nearbyint(x.data[i] / s) + z;
    // NaN (a damaged model's overflow) takes the lowest code rather than an undefined index.
    q = !(q >= float(qmin)) ? float(qmin) : (q > float(qmax) ? float(qmax) : q);
    out.data[i] = lut.data[int(q) - qmin];
  }
  return info.Env().Undefined();
}

// maxPoolBytes(x u8[N*H*W*C], dims i32[10] = {N,H,W,C, kh,kw, sh,sw, padT,padL}, outH, outW, out u8):
// max over each window (bytes sort like values); padded positions are never picked.
static Napi::Value MaxPoolBytes(const Napi::CallbackInfo& info) {
  auto x = arg<uint8_t>(info, 0);
  auto d = arg<int32_t>(info, 1);
  const int outH = argInt(info, 2), outW = argInt(info, 3);
  auto out = arg<uint8_t>(info, 4);
  if (d.length != 10) fail("maxPoolBytes: dims must have 10 entries");
  const int N = d.data[0], H = d.data[1], W = d.data[2], C = d.data[3], kh = d.data[4], kw = d.data[5], sh = d.data[6], sw = d.data[7],
            padT = d.data[8], padL = d.data[9];
  if (x.length != size_t(N) * H * W * C || out.length != size_t(N) * outH * outW * C) fail("maxPoolBytes: array lengths do not match");
  const size_t P = size_t(N) * outH * outW;
#pragma omp parallel for num_threads(threads()) schedule(static) if (P * C > (1 << 15))
  for (size_t p = 0; p < P; p++) {
    const int n = int(p / (size_t(outH) * outW)), rem = int(p % (size_t(outH) * outW)), oh = rem / outW, ow = rem % outW;
    uint8_t* o = out.data + p * C;
    std::memset(o, 0, C);
    for (int i = 0; i < kh; i++) {
      const int ih = oh * sh - padT + i;
      if (ih < 0 || ih >= H) continue;
      for (int j = 0; j < kw; j++) {
        const int iw = ow * sw - padL + j;
        if (iw < 0 || iw >= W) continue;
        const uint8_t* src = x.data + ((size_t(n) * H + ih) * W + iw) * C;
        for (int c = 0; c < C; c++) o[c] = src[c] > o[c] ? src[c] : o[c];
      }
    }
  }
  return info.Env().Undefined();
}

void registerIntGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("qconv", Napi::Function::New(env, Qconv));
  exports.Set("quantizeBytes", Napi::Function::New(env, QuantizeBytes));
  exports.Set("maxPoolBytes", Napi::Function::New(env, MaxPoolBytes));
}

}  // namespace lowbit

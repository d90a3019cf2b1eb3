// Integer inference kernels of the packed-model runtime (src/deploy/runtime/): im2col of
// activation codes into unsigned 8-bit levels, an AVX2 u8×s8 GEMM with int32 accumulators, and
// the fixed-point requantization epilogue. Bit-exact with the TypeScript path (ops.ts,
// requant.ts): integer arithmetic throughout, __int128 for acc·M + B, float outputs computed
// in double without contraction.
//
// GEMM layout. A is [P, Kp] uint8 (Kp = K rounded up to 4, zero padded), one row per output
// pixel. Weights are packed by weightPack into blocks of 8 output channels: for block b, for
// k4 = 0..Kp/4-1, 8 channels × 4 bytes (the k4-th group of 4 reduction entries). The kernel
// broadcasts 4 bytes of a row, multiplies them with a block's 32 bytes (_mm256_maddubs_epi16:
// u8·s8 pairs summed to int16) and widens with _mm256_madd_epi16 against ones (pairs to int32).
// maddubs saturates at ±32767: with activations up to 127 a pair sum stays below 2·127·128, and
// small levels (4-bit and below) let several groups add up in int16 before widening, halving the
// multiplies; activations above 127 take the exact 16-bit path (madd_epi16 on widened values).
#include "common.h"
#include <immintrin.h>
#include <omp.h>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#pragma GCC optimize("fp-contract=off")

namespace lowbit {

// im2colCodes(codes i32[N*H*W*C], dims i32[13] = {N,H,W,C, kh,kw, sh,sw, dh,dw, padT,padL, outH},
//             outW, lut u8[codes], codeMin, pad u8, Kp, out u8[P*Kp]):
// out[p][(i*kw + j)*C + c] = lut[code − codeMin] at the input position, `pad` outside.
static Napi::Value Im2colCodes(const Napi::CallbackInfo& info) {
  auto codes = arg<int32_t>(info, 0);
  auto d = arg<int32_t>(info, 1);
  const int outW = argInt(info, 2);
  auto lut = arg<uint8_t>(info, 3);
  const int codeMin = argInt(info, 4), pad = argInt(info, 5), Kp = argInt(info, 6);
  auto out = arg<uint8_t>(info, 7);
  if (d.length != 13) fail("im2colCodes: dims must have 13 entries");
  const int N = d.data[0], H = d.data[1], W = d.data[2], C = d.data[3], kh = d.data[4], kw = d.data[5], sh = d.data[6], sw = d.data[7],
            dh = d.data[8], dw = d.data[9], padT = d.data[10], padL = d.data[11], outH = d.data[12];
  const size_t P = size_t(N) * outH * outW, K = size_t(kh) * kw * C;
  if (codes.length != size_t(N) * H * W * C || out.length != P * Kp || Kp < int(K)) fail("im2colCodes: array lengths do not match");
  const int nl = int(lut.length);
#pragma omp parallel for num_threads(threads()) schedule(static) if (P * K > (1 << 15))
  for (size_t p = 0; p < P; p++) {
    const int n = int(p / (size_t(outH) * outW)), rem = int(p % (size_t(outH) * outW)), oh = rem / outW, ow = rem % outW;
    uint8_t* row = out.data + p * Kp;
    size_t k = 0;
    for (int i = 0; i < kh; i++) {
      const int ih = oh * sh - padT + i * dh;
      for (int j = 0; j < kw; j++) {
        const int iw = ow * sw - padL + j * dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
          std::memset(row + k, pad, C);
        } else {
          const int32_t* src = codes.data + ((size_t(n) * H + ih) * W + iw) * C;
          for (int c = 0; c < C; c++) {
            const int idx = src[c] - codeMin;
            row[k + c] = (idx >= 0 && idx < nl) ? lut.data[idx] : uint8_t(pad);
          }
        }
        k += C;
      }
    }
    std::memset(row + K, 0, Kp - K);
  }
  return info.Env().Undefined();
}

// qgemm(A u8[P*Kp], Wp i8[nb*Kp*8], P, Kp, N, acc i32[P*N], steps, corr i32[N]|null):
// acc[p][n] = Σ_k A[p][k]·W[k][n] − corr[n]. `steps` ≥ 1: how many groups of 4 products may add
// up in int16 before widening (the caller bounds steps·2·max|a|·max|w| ≤ 32767); 0 selects the
// exact 16-bit path for activations above 127. corr removes an offset added to signed
// activations (offset · Σ_k W[k][n]). Tiles of 4 rows × 16 outputs: two weight loads and four
// broadcasts feed eight maddubs per group of 4 reduction entries.
static Napi::Value Qgemm(const Napi::CallbackInfo& info) {
  auto A = arg<uint8_t>(info, 0);
  auto Wp = arg<int8_t>(info, 1);
  const int P = argInt(info, 2), Kp = argInt(info, 3), N = argInt(info, 4);
  auto acc = arg<int32_t>(info, 5);
  const int steps = argInt(info, 6);
  auto corr = arg<int32_t>(info, 7);
  const int nb = (N + 7) / 8;
  if (corr.data && corr.length != size_t(N)) fail("qgemm: corr must have one entry per output");
  if (Kp % 4 || A.length != size_t(P) * Kp || Wp.length != size_t(nb) * Kp * 8 || acc.length != size_t(P) * N || steps < 0)
    fail("qgemm: array lengths do not match");
  const int K4 = Kp / 4;
  const __m256i ones = _mm256_set1_epi16(1);
  const int tiles = (P + 3) / 4;
#pragma omp parallel for num_threads(threads()) schedule(dynamic, 8) if (size_t(P) * Kp * N > (1 << 18))
  for (int tile = 0; tile < tiles; tile++) {
    const int p0 = tile * 4, rows = std::min(4, P - p0);
    // Rows past the end read row p0 again (results discarded).
    const uint8_t* a[4];
    for (int r = 0; r < 4; r++) a[r] = A.data + size_t(p0 + (r < rows ? r : 0)) * Kp;
    for (int b = 0; b < nb; b += 2) {
      const bool two = b + 1 < nb;
      const int8_t* w0 = Wp.data + size_t(b) * Kp * 8;
      const int8_t* w1 = two ? w0 + size_t(Kp) * 8 : w0;
      __m256i s[8];
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
              int32_t g;
              std::memcpy(&g, a[r] + k4 * 4, 4);
              const __m256i av = _mm256_set1_epi32(g);
              h[2 * r] = _mm256_add_epi16(h[2 * r], _mm256_maddubs_epi16(av, x0));
              h[2 * r + 1] = _mm256_add_epi16(h[2 * r + 1], _mm256_maddubs_epi16(av, x1));
            }
          }
          for (int i = 0; i < 8; i++) s[i] = _mm256_add_epi32(s[i], _mm256_madd_epi16(h[i], ones));
        }
      } else {
        for (int k4 = 0; k4 < K4; k4++) {
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
              s[2 * r + j] = _mm256_add_epi32(s[2 * r + j], _mm256_permutevar8x32_epi32(sum, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7)));
            }
          }
        }
      }
      for (int j = 0; j < (two ? 2 : 1); j++) {
        const int base = (b + j) * 8, nc = std::min(8, N - base);
        for (int r = 0; r < rows; r++) {
          alignas(32) int32_t t[8];
          _mm256_store_si256(reinterpret_cast<__m256i*>(t), s[2 * r + j]);
          if (corr.data)
            for (int c = 0; c < nc; c++) t[c] -= corr.data[base + c];
          std::memcpy(acc.data + size_t(p0 + r) * N + base, t, nc * 4);
        }
      }
    }
  }
  return info.Env().Undefined();
}

// requantGrid(acc i32[P*N], N, M f64[N], B f64[N], shift i32[N], thresholds f64[T], codeMin, minIndex, out i32[P*N]):
// code = codeMin + max(minIndex, #{t <= floor((acc·M + B) / 2^shift)}).
static Napi::Value RequantGrid(const Napi::CallbackInfo& info) {
  auto acc = arg<int32_t>(info, 0);
  const int N = argInt(info, 1);
  auto M = arg<double>(info, 2), B = arg<double>(info, 3);
  auto shift = arg<int32_t>(info, 4);
  auto th = arg<double>(info, 5);
  const int codeMin = argInt(info, 6), minIndex = argInt(info, 7);
  auto out = arg<int32_t>(info, 8);
  if (M.length != size_t(N) || B.length != size_t(N) || shift.length != size_t(N) || out.length != acc.length || acc.length % size_t(N))
    fail("requantGrid: array lengths do not match");
  std::vector<int64_t> Mi(N), Bi(N);
  for (int c = 0; c < N; c++) Mi[c] = int64_t(M.data[c]), Bi[c] = int64_t(B.data[c]);
  const int T = int(th.length);
  std::vector<int64_t> ti(T);
  for (int t = 0; t < T; t++) ti[t] = int64_t(th.data[t]);
  const size_t n = acc.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > (1 << 15))
  for (size_t i = 0; i < n; i++) {
    const int c = int(i % size_t(N));
    const __int128 v = __int128(acc.data[i]) * Mi[c] + Bi[c];
    // Arithmetic shift of a signed value is floor division by 2^shift.
    const int64_t V = int64_t(v >> shift.data[c]);
    int lo = 0, hi = T;
    while (lo < hi) {
      const int mid = (lo + hi) >> 1;
      if (ti[mid] <= V) lo = mid + 1;
      else hi = mid;
    }
    out.data[i] = codeMin + (lo > minIndex ? lo : minIndex);
  }
  return info.Env().Undefined();
}

// requantFloat(acc i32[P*N], N, a f64[N], b f64[N], relu, out f32[P*N]): y = acc·a + b, ReLU.
static Napi::Value RequantFloat(const Napi::CallbackInfo& info) {
  auto acc = arg<int32_t>(info, 0);
  const int N = argInt(info, 1);
  auto a = arg<double>(info, 2), b = arg<double>(info, 3);
  const bool relu = argInt(info, 4) != 0;
  auto out = arg<float>(info, 5);
  if (a.length != size_t(N) || b.length != size_t(N) || out.length != acc.length || acc.length % size_t(N))
    fail("requantFloat: array lengths do not match");
  for (size_t i = 0; i < acc.length; i++) {
    const int c = int(i % size_t(N));
    const double prod = double(acc.data[i]) * a.data[c];
    const double y = prod + b.data[c];
    out.data[i] = float(relu && y < 0 ? 0.0 : y);
  }
  return info.Env().Undefined();
}

// quantizeCodes(x f32[n], scale, zp, qmin, qmax, out i32[n]): codes of a per-tensor uniform
// grid, q = clamp(rhe(x / s) + zp), with float32 division as in training (fqUniform).
static Napi::Value QuantizeCodes(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  const float s = argFloat(info, 1), z = argFloat(info, 2);
  const int qmin = argInt(info, 3), qmax = argInt(info, 4);
  auto out = arg<int32_t>(info, 5);
  if (out.length != x.length) fail("quantizeCodes: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (x.length > (1 << 15))
  for (size_t i = 0; i < x.length; i++) {
    float q = std::nearbyint(x.data[i] / s) + z;
    q = q < float(qmin) ? float(qmin) : (q > float(qmax) ? float(qmax) : q);
    out.data[i] = int32_t(q);
  }
  return info.Env().Undefined();
}

// maxPoolCodes(codes i32[N*H*W*C], dims i32[10] = {N,H,W,C, kh,kw, sh,sw, padT,padL}, outH, outW, out i32):
// max over each window (codes sort like values); padded positions are never picked.
static Napi::Value MaxPoolCodes(const Napi::CallbackInfo& info) {
  auto x = arg<int32_t>(info, 0);
  auto d = arg<int32_t>(info, 1);
  const int outH = argInt(info, 2), outW = argInt(info, 3);
  auto out = arg<int32_t>(info, 4);
  if (d.length != 10) fail("maxPoolCodes: dims must have 10 entries");
  const int N = d.data[0], H = d.data[1], W = d.data[2], C = d.data[3], kh = d.data[4], kw = d.data[5], sh = d.data[6], sw = d.data[7],
            padT = d.data[8], padL = d.data[9];
  if (x.length != size_t(N) * H * W * C || out.length != size_t(N) * outH * outW * C) fail("maxPoolCodes: array lengths do not match");
  const size_t P = size_t(N) * outH * outW;
#pragma omp parallel for num_threads(threads()) schedule(static) if (P * C > (1 << 15))
  for (size_t p = 0; p < P; p++) {
    const int n = int(p / (size_t(outH) * outW)), rem = int(p % (size_t(outH) * outW)), oh = rem / outW, ow = rem % outW;
    int32_t* o = out.data + p * C;
    for (int c = 0; c < C; c++) o[c] = INT32_MIN;
    for (int i = 0; i < kh; i++) {
      const int ih = oh * sh - padT + i;
      if (ih < 0 || ih >= H) continue;
      for (int j = 0; j < kw; j++) {
        const int iw = ow * sw - padL + j;
        if (iw < 0 || iw >= W) continue;
        const int32_t* src = x.data + ((size_t(n) * H + ih) * W + iw) * C;
        for (int c = 0; c < C; c++) o[c] = src[c] > o[c] ? src[c] : o[c];
      }
    }
  }
  return info.Env().Undefined();
}

void registerIntGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("quantizeCodes", Napi::Function::New(env, QuantizeCodes));
  exports.Set("maxPoolCodes", Napi::Function::New(env, MaxPoolCodes));
  exports.Set("im2colCodes", Napi::Function::New(env, Im2colCodes));
  exports.Set("qgemm", Napi::Function::New(env, Qgemm));
  exports.Set("requantGrid", Napi::Function::New(env, RequantGrid));
  exports.Set("requantFloat", Napi::Function::New(env, RequantFloat));
}

}  // namespace lowbit

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
// maddubs saturates at ±32767: a pair sum is at most 2·255·128, so levels are split: activations
// above 127 take the exact 16-bit path (madd_epi16 on widened values) instead.
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

// 8 int32 sums of 4 u8·s8 products each, for a broadcast group `a4` and a weight block row.
static inline __m256i dot4(__m256i a4, __m256i w, __m256i ones) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(a4, w), ones);
}

// qgemm(A u8[P*Kp], Wp i8[nb*Kp*8], P, Kp, N, acc i32[P*N], wide, corr i32[N]|null):
// acc[p][n] = Σ_k A[p][k]·W[k][n] − corr[n]. `wide` (activations above 127) uses the exact
// 16-bit path; corr removes an offset added to signed activations (offset · Σ_k W[k][n]).
static Napi::Value Qgemm(const Napi::CallbackInfo& info) {
  auto A = arg<uint8_t>(info, 0);
  auto Wp = arg<int8_t>(info, 1);
  const int P = argInt(info, 2), Kp = argInt(info, 3), N = argInt(info, 4);
  auto acc = arg<int32_t>(info, 5);
  const bool wide = argInt(info, 6) != 0;
  auto corr = arg<int32_t>(info, 7);
  const int nb = (N + 7) / 8;
  if (corr.data && corr.length != size_t(N)) fail("qgemm: corr must have one entry per output");
  if (Kp % 4 || A.length != size_t(P) * Kp || Wp.length != size_t(nb) * Kp * 8 || acc.length != size_t(P) * N)
    fail("qgemm: array lengths do not match");
  const int K4 = Kp / 4;
  const __m256i ones = _mm256_set1_epi16(1);
  // Rows in groups of 4 share each weight load; blocks of 8 channels.
#pragma omp parallel for num_threads(threads()) schedule(dynamic, 4) if (size_t(P) * Kp * N > (1 << 18))
  for (int p0 = 0; p0 < P; p0 += 4) {
    const int rows = std::min(4, P - p0);
    for (int b = 0; b < nb; b++) {
      __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      const int8_t* wb = Wp.data + size_t(b) * Kp * 8;
      if (!wide) {
        for (int k4 = 0; k4 < K4; k4++) {
          const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + size_t(k4) * 32));
          for (int r = 0; r < rows; r++) {
            int32_t g;
            std::memcpy(&g, A.data + size_t(p0 + r) * Kp + k4 * 4, 4);
            s[r] = _mm256_add_epi32(s[r], dot4(_mm256_set1_epi32(g), w, ones));
          }
        }
      } else {
        for (int k4 = 0; k4 < K4; k4++) {
          // Widen the 32 weight bytes to int16 in two halves (channels 0-3, 4-7).
          const __m128i w8lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + size_t(k4) * 32));
          const __m128i w8hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + size_t(k4) * 32 + 16));
          const __m256i wlo = _mm256_cvtepi8_epi16(w8lo), whi = _mm256_cvtepi8_epi16(w8hi);
          for (int r = 0; r < rows; r++) {
            const uint8_t* a = A.data + size_t(p0 + r) * Kp + k4 * 4;
            // Activation pairs (a0,a1),(a2,a3) as int16, repeated for 4 channels.
            const int32_t p01 = int32_t(a[0]) | (int32_t(a[1]) << 16), p23 = int32_t(a[2]) | (int32_t(a[3]) << 16);
            const __m256i av = _mm256_setr_epi32(p01, p23, p01, p23, p01, p23, p01, p23);
            const __m256i lo = _mm256_madd_epi16(av, wlo), hi = _mm256_madd_epi16(av, whi);
            // lo holds channel c's two pair sums at lanes 2c, 2c+1 (c = 0..3): add the pairs.
            const __m256i sum = _mm256_hadd_epi32(lo, hi);  // [l0+l1, l2+l3, h0+h1, h2+h3 | l4+l5, l6+l7, h4+h5, h6+h7]
            const __m256i fixed = _mm256_permutevar8x32_epi32(sum, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
            s[r] = _mm256_add_epi32(s[r], fixed);
          }
        }
      }
      const int nc = std::min(8, N - b * 8);
      for (int r = 0; r < rows; r++) {
        alignas(32) int32_t t[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(t), s[r]);
        if (corr.data)
          for (int c = 0; c < nc; c++) t[c] -= corr.data[b * 8 + c];
        std::memcpy(acc.data + size_t(p0 + r) * N + b * 8, t, nc * 4);
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

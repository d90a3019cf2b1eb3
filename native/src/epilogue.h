// What the native integer conv kernels (intgemm.cc, directconv.cc) take alike: their first six
// arguments, and the fixed-point epilogue from a channel's int32 sum acc (input bytes · weight
// levels, minus the offset correction) to the next layer's byte, or to a float logit. Bit-exact with runtime/requant.ts: int64 (int128 where a
// multiplier needs it) for acc·M + B, float outputs in double without contraction.
#pragma once
#include "common.h"
#include <immintrin.h>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace lowbit {

struct GridEpilogue {
  std::vector<int64_t> M, B;
  const int32_t* shift;
  std::vector<int64_t> t;
  int T, minIndex;
  const uint8_t* outBytes;
  // Thresholds equally spaced by 2^dshift (uniform grids): the count is a shift, not a search.
  bool uniform = false, wide = false;
  int dshift = 0;

  int64_t t0 = 0;

  uint8_t byteOf(int32_t v, int ch) const {
    int64_t V;
    if (wide) V = int64_t((__int128(v) * M[ch] + B[ch]) >> shift[ch]);
    else V = (int64_t(v) * M[ch] + B[ch]) >> shift[ch];  // arithmetic shift: floor division
    int64_t idx;
    // (V − t0) >> dshift is floor((V − t0) / d); +1 counts t0; the clamps are branch-free.
    if (uniform) idx = std::min<int64_t>(T, std::max<int64_t>(0, ((V - t0) >> dshift) + 1));
    else {
      int lo = 0, hi = T;
      while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (t[mid] <= V) lo = mid + 1;
        else hi = mid;
      }
      idx = lo;
    }
    return outBytes[idx > minIndex ? idx : minIndex];
  }
};

// The grid epilogue of 8 channels at once, for uniform output grids whose bytes are consecutive
// (every int grid) and multipliers below 2^31. With B' = B − t0·2^s + 2^(s+d) and s' = s + d the
// threshold count before clamping is floor((v·M + B') / 2^s') — one product, one shift. AVX2 has
// no 64-bit arithmetic shift: x + 2^63 (the sign bit flipped) is shifted logically instead, which
// adds 2^(63−s') to the result; the clamp bounds and the byte offset absorb it. Constants are
// stored per group of 8 channels as the even channels, then the odd ones (the lanes of
// _mm256_mul_epi32).
struct VectorEpilogue {
  bool usable = false;
  std::vector<int64_t> M, B, S, lo, hi, C;  // [group][even 0,2,4,6 | odd 1,3,5,7]

  void build(const GridEpilogue& e, int N, const uint8_t* outBytes) {
    if (!e.uniform || e.wide || e.T < 1) return;
    for (int i = 1; i <= e.T; i++)
      if (outBytes[i] != uint8_t(outBytes[0] + i)) return;
    const int groups = (N + 7) / 8;
    // Channels past N (a last partial group) compute a bounded throwaway byte.
    for (auto* v : {&M, &B, &lo, &hi, &C}) v->assign(size_t(groups) * 8, 0);
    S.assign(size_t(groups) * 8, 62);
    const int64_t low = std::max(0, e.minIndex);
    for (int ch = 0; ch < N; ch++) {
      const int sp = e.shift[ch] + e.dshift;
      if (e.shift[ch] < 0 || sp > 62) return;
      const __int128 b = __int128(e.B[ch]) - __int128(e.t0) * (__int128(1) << e.shift[ch]) + (__int128(1) << sp);
      if (b >= (__int128(1) << 62) || b <= -(__int128(1) << 62)) return;
      const size_t at = size_t(ch / 8) * 8 + (ch % 2) * 4 + (ch % 8) / 2;
      const int64_t bias = int64_t(1) << (63 - sp);
      M[at] = e.M[ch], B[at] = int64_t(b), S[at] = sp;
      lo[at] = low + bias, hi[at] = e.T + bias, C[at] = bias - outBytes[0];
    }
    usable = true;
  }

  // out[c] for the 8 channels of group `group`, from acc − corr.
  void run(const int32_t* acc, const int32_t* corr, int group, uint8_t* out) const {
    const __m256i v = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)),
                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr)));
    const uint64_t b = bytes(v, group);
    std::memcpy(out, &b, 8);
  }

  // The 8 output bytes (channel order, little-endian) of the sums v = acc − corr of group `group`.
  uint64_t bytes(__m256i v, int group) const {
    const int64_t* base[6] = {M.data(), B.data(), S.data(), lo.data(), hi.data(), C.data()};
    const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
    __m256i r[2];
    for (int h = 0; h < 2; h++) {
      const size_t at = size_t(group) * 8 + h * 4;
      auto ld = [&](int i) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base[i] + at)); };
      const __m256i vv = h ? _mm256_srli_epi64(v, 32) : v;
      const __m256i x = _mm256_add_epi64(_mm256_mul_epi32(vv, ld(0)), ld(1));
      __m256i u = _mm256_srlv_epi64(_mm256_xor_si256(x, sign), ld(2));
      const __m256i l = ld(3), hi4 = ld(4);
      u = _mm256_blendv_epi8(u, l, _mm256_cmpgt_epi64(l, u));
      u = _mm256_blendv_epi8(u, hi4, _mm256_cmpgt_epi64(u, hi4));
      r[h] = _mm256_sub_epi64(u, ld(5));
    }
    // Even channels in the low dword of each qword, odd ones in the high dword: channel order.
    const __m256i d = _mm256_or_si256(r[0], _mm256_slli_epi64(r[1], 32));
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1, -1,
                                          -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i b = _mm256_shuffle_epi8(d, pick);
    const uint32_t lo4 = uint32_t(_mm_cvtsi128_si32(_mm256_castsi256_si128(b)));
    const uint32_t hi4 = uint32_t(_mm_cvtsi128_si32(_mm256_extracti128_si256(b, 1)));
    return uint64_t(lo4) | (uint64_t(hi4) << 32);
  }
};


// Arguments 0-5 of a conv call: x u8, geo i32[14] = {N,H,W,C, kh,kw, sh,sw, dh,dw, padT,padL, outH,outW},
// meta i32[metaLength] (the kernel's own), Wp u8 (its weight layout), lut i8[16]|null, corr i32[N]|null.
struct ConvInputs {
  Span<uint8_t> x;
  Span<int32_t> geo, meta;
  Span<uint8_t> wp;
  Span<int8_t> lut;
  Span<int32_t> corr;

  ConvInputs(const Napi::CallbackInfo& info, size_t metaLength, const char* who)
      : x(arg<uint8_t>(info, 0)), geo(arg<int32_t>(info, 1)), meta(arg<int32_t>(info, 2)), wp(arg<uint8_t>(info, 3)),
        lut(arg<int8_t>(info, 4)), corr(arg<int32_t>(info, 5)) {
    if (geo.length != 14 || meta.length != metaLength)
      fail(std::string(who) + ": geometry must have 14 entries and meta " + std::to_string(metaLength));
  }
};

// The epilogue arguments of a conv call, from argument `at` on:
//   emode 0 (grid): M f64[N], B f64[N], shift i32[N], thresholds f64[T], minIndex, outBytes u8[T+1], out u8[P*N]
//     byte = outBytes[max(minIndex, #{t <= floor((acc·M + B) / 2^shift)})]
//   emode 1 (float): a f64[N], b f64[N], relu, out f32[P*N]: y = acc·a + b (ReLU)
struct Epilogue {
  int emode = 0;
  GridEpilogue grid;
  VectorEpilogue vector;
  Span<double> fa, fb;
  Span<uint8_t> out8;
  Span<float> outF;
  bool relu = false;
  std::vector<double> Mraw;  // the multipliers as given (their signs choose max or min pooling)

  Epilogue(const Napi::CallbackInfo& info, int emodeArg, int N, size_t P, const char* who) {
    emode = argInt(info, emodeArg);
    const int at = emodeArg + 1;
    if (emode == 0) {
      auto M = arg<double>(info, at), B = arg<double>(info, at + 1);
      auto shift = arg<int32_t>(info, at + 2);
      auto th = arg<double>(info, at + 3);
      grid.minIndex = argInt(info, at + 4);
      auto outBytes = arg<uint8_t>(info, at + 5);
      out8 = arg<uint8_t>(info, at + 6);
      if (M.length != size_t(N) || B.length != size_t(N) || shift.length != size_t(N) || outBytes.length != th.length + 1 ||
          out8.length != P * N || grid.minIndex < 0 || size_t(grid.minIndex) > th.length)
        fail(std::string(who) + ": grid epilogue lengths do not match");
      GridEpilogue& ge = grid;
      ge.T = int(th.length);
      ge.shift = shift.data;
      ge.outBytes = outBytes.data;
      ge.M.resize(N), ge.B.resize(N), ge.t.resize(th.length);
      Mraw.assign(M.data, M.data + N);
      for (int c = 0; c < N; c++) {
        ge.M[c] = int64_t(M.data[c]), ge.B[c] = int64_t(B.data[c]);
        // |acc| < 2^31: acc·M + B fits int64 while |M| < 2^31 and |B| < 2^52.
        if (std::llabs(ge.M[c]) >= (int64_t(1) << 31) || std::llabs(ge.B[c]) >= (int64_t(1) << 52)) ge.wide = true;
      }
      for (size_t i = 0; i < th.length; i++) ge.t[i] = int64_t(th.data[i]);
      if (ge.T >= 2) {
        const int64_t d = ge.t[1] - ge.t[0];
        bool eq = d > 0 && (d & (d - 1)) == 0;
        for (int i = 2; eq && i < ge.T; i++) eq = ge.t[i] - ge.t[i - 1] == d;
        if (eq) ge.uniform = true, ge.dshift = __builtin_ctzll(uint64_t(d));
      }
      if (ge.T > 0) ge.t0 = ge.t[0];
      vector.build(ge, N, ge.outBytes);
    } else if (emode == 1) {
      fa = arg<double>(info, at), fb = arg<double>(info, at + 1);
      relu = argInt(info, at + 2) != 0;
      outF = arg<float>(info, at + 3);
      if (fa.length != size_t(N) || fb.length != size_t(N) || outF.length != P * N)
        fail(std::string(who) + ": float epilogue lengths do not match");
    } else
      fail(std::string(who) + ": epilogue mode must be 0 (grid) or 1 (float)");
  }

  // Channel ch of output pixel p from the corrected sum v, one value at a time.
  void scalar(int32_t v, int ch, size_t p, int N) const {
    if (emode == 0) out8.data[p * N + ch] = grid.byteOf(v, ch);
    else {
      const double prod = double(v) * fa.data[ch];
      const double y = prod + fb.data[ch];
      outF.data[p * N + ch] = float(relu && y < 0 ? 0.0 : y);
    }
  }
};

}  // namespace lowbit

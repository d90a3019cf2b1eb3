// The integer GEMM of lowbit's WebAssembly runtime (browsers, and Node without the native addon):
// C[i][j] = sum_k A[i][k] * B[j][k] + corr[j] over int8 levels, exact in int32 (corr: the offset
// correction of uint8 inputs stored as level − 128, or 0 for none). A holds the gathered input
// windows of a panel of output pixels (m rows of kp bytes), B the layer's weights transposed (n rows
// of kp bytes); kp is a multiple of 16, zero padded. Dot products use i32x4.dot_i16x8_s on the
// int8 levels widened to int16. Freestanding: no libc; JavaScript places the arrays in this
// module's memory above __heap_base. Built by scripts/build-wasm.mjs (clang-14 --target=wasm32).
#include <stdint.h>
#include <wasm_simd128.h>

static inline v128_t dot16(v128_t a, v128_t b) {
  v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
  v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
  return wasm_i32x4_add(lo, hi);
}

static inline int32_t hsum(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) +
         wasm_i32x4_extract_lane(v, 3);
}

// Two rows of A against four rows of B per step: each loaded vector is used two or four times.
__attribute__((export_name("qgemm"))) void qgemm(const int8_t* a, const int8_t* b, int32_t* c, int m, int n, int kp,
                                                 const int32_t* corr) {
  int i = 0;
  for (; i + 2 <= m; i += 2) {
    const int8_t* a0 = a + i * kp;
    const int8_t* a1 = a0 + kp;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const int8_t* b0 = b + j * kp;
      v128_t s00 = wasm_i32x4_splat(0), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
      for (int k = 0; k < kp; k += 16) {
        v128_t x0 = wasm_v128_load(a0 + k), x1 = wasm_v128_load(a1 + k);
        v128_t w0 = wasm_v128_load(b0 + k), w1 = wasm_v128_load(b0 + kp + k);
        v128_t w2 = wasm_v128_load(b0 + 2 * kp + k), w3 = wasm_v128_load(b0 + 3 * kp + k);
        s00 = wasm_i32x4_add(s00, dot16(x0, w0));
        s01 = wasm_i32x4_add(s01, dot16(x0, w1));
        s02 = wasm_i32x4_add(s02, dot16(x0, w2));
        s03 = wasm_i32x4_add(s03, dot16(x0, w3));
        s10 = wasm_i32x4_add(s10, dot16(x1, w0));
        s11 = wasm_i32x4_add(s11, dot16(x1, w1));
        s12 = wasm_i32x4_add(s12, dot16(x1, w2));
        s13 = wasm_i32x4_add(s13, dot16(x1, w3));
      }
      int32_t* c0 = c + i * n + j;
      int32_t* c1 = c0 + n;
      c0[0] = hsum(s00), c0[1] = hsum(s01), c0[2] = hsum(s02), c0[3] = hsum(s03);
      c1[0] = hsum(s10), c1[1] = hsum(s11), c1[2] = hsum(s12), c1[3] = hsum(s13);
      if (corr)
        for (int t = 0; t < 4; t++) c0[t] += corr[j + t], c1[t] += corr[j + t];
    }
    for (; j < n; j++) {
      const int8_t* bj = b + j * kp;
      v128_t s0 = wasm_i32x4_splat(0), s1 = s0;
      for (int k = 0; k < kp; k += 16) {
        v128_t w = wasm_v128_load(bj + k);
        s0 = wasm_i32x4_add(s0, dot16(wasm_v128_load(a0 + k), w));
        s1 = wasm_i32x4_add(s1, dot16(wasm_v128_load(a1 + k), w));
      }
      int32_t add = corr ? corr[j] : 0;
      c[i * n + j] = hsum(s0) + add;
      c[(i + 1) * n + j] = hsum(s1) + add;
    }
  }
  for (; i < m; i++) {
    const int8_t* ai = a + i * kp;
    for (int j = 0; j < n; j++) {
      const int8_t* bj = b + j * kp;
      v128_t s = wasm_i32x4_splat(0);
      for (int k = 0; k < kp; k += 16) s = wasm_i32x4_add(s, dot16(wasm_v128_load(ai + k), wasm_v128_load(bj + k)));
      c[i * n + j] = hsum(s) + (corr ? corr[j] : 0);
    }
  }
}

// Fixed-point requantization of int32 accumulators C (m rows of n channels) into output codes, as
// runtime/requant.ts defines it: V = floor((acc·M + B) / 2^shift) evaluated exactly by splitting acc
// into 16-bit halves (every product fits int64), then the number of decision thresholds at or below
// V, raised to minIndex (the level of zero after a ReLU), plus codeMin.
__attribute__((export_name("requant"))) void requant(const int32_t* acc, int m, int n, const int64_t* M, const int64_t* B,
                                                     const int32_t* shift, const int64_t* thr, int T, int minIndex, int codeMin,
                                                     int32_t* out) {
  for (int i = 0; i < m; i++)
    for (int k = 0; k < n; k++) {
      int64_t a = acc[i * n + k];
      int64_t ah = a >> 16;
      int64_t al = a - ah * 65536;
      int64_t v = (ah * M[k] + ((al * M[k] + B[k]) >> 16)) >> (shift[k] - 16);
      int lo = 0, hi = T;
      while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (thr[mid] <= v)
          lo = mid + 1;
        else
          hi = mid;
      }
      out[i * n + k] = codeMin + (lo > minIndex ? lo : minIndex);
    }
}

// The integer kernels of lowbit's WebAssembly runtime (browsers, Web Workers, and Node without the
// native addon), the same design as the native kernels (native/src/intgemm.cc): activations are
// bytes (level + offset), a whole conv/dense layer runs as a blocked GEMM over panels of gathered
// input windows, weights stay at 2, 4 or 8 bits in memory and are expanded through the format's
// level table one block of 8 output channels at a time, and the fixed-point epilogue writes the next
// layer's bytes (ReLU folded into its lowest index) or float logits. Bit-exact with the TypeScript
// path (runtime/ops.ts, runtime/requant.ts): integer arithmetic throughout, int64 for acc·M + B.
//
// Two builds of this file (scripts/build-wasm.mjs), chosen at run time by feature detection:
// - plain SIMD: the panel holds bytes widened to int16, weights are expanded to int16, and
//   i32x4.dot_i16x8_s adds pairs of reduction entries into 4 channels per vector;
// - relaxed SIMD (LOWBIT_RELAXED): the panel stays bytes, weights are expanded to int8, and
//   i32x4.relaxed_dot_i8x16_i7x16_add_s adds quads of reduction entries into 4 channels per vector
//   (twice the work per instruction; exact, since two products of an int8 and a 7-bit value never
//   leave int16); used for layers whose input bytes are at most 127 (the caller checks).
// In both, one reduction group (2 or 4 entries) of a pixel is one 32-bit load splat over a vector,
// so a register tile of 4 pixels × 8 channels needs no horizontal sums.
//
// Freestanding: no libc, no data segments. JavaScript lays out every array and a descriptor of the
// layer in this module's memory above __heap_base and calls qconv over a range of output pixels.
#include <stdint.h>
#include <wasm_simd128.h>

#ifdef LOWBIT_RELAXED
typedef uint8_t pel;  // panel entries
#define G 4           // reduction entries per 32-bit group
typedef signed char i8x16 __attribute__((vector_size(16)));
typedef int i32x4 __attribute__((vector_size(16)));
static inline v128_t dot(v128_t acc, v128_t x, v128_t w) {
  return (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((i8x16)w, (i8x16)x, (i32x4)acc);
}
#else
typedef int16_t pel;
#define G 2
static inline v128_t dot(v128_t acc, v128_t x, v128_t w) { return wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(x, w)); }
#endif

#define CB 8  // output channels per weight block
#define R 4   // pixels per register tile

// The layer descriptor: int32 fields, pointers are offsets into this memory.
enum {
  D_N, D_H, D_W, D_C, D_KH, D_KW, D_SH, D_SW, D_DH, D_DW, D_PADT, D_PADL, D_OUTH, D_OUTW,
  D_K, D_KP, D_COUT, D_PAD, D_BITS, D_EMODE, D_ROWS,
  D_X, D_OUT, D_WP, D_LUT, D_CORR, D_SCRATCH,
  // emode 0 (grid): V = floor((acc·M + B) / 2^shift), index = #{thresholds ≤ V} raised to minIndex, byte = outBytes[index];
  // uniform ≥ 0: the thresholds are thr[0] + i·2^uniform, so the count is a shift.
  D_M, D_B, D_SHIFT, D_THR, D_T, D_MININDEX, D_OUTBYTES, D_UNIFORM,
  // emode 1 (float): y = acc·a + b, then ReLU if relu.
  D_FA, D_FB, D_RELU,
  // The vector form of a uniform grid epilogue (0 if not exact here): see epilogueVector.
  D_FM, D_FB2, D_FS, D_FC,
  // implicit: no gathered panel. Every window lies inside the image with no dilation (valid convs,
  // dense layers), so a window's row of kw·C entries is contiguous in the input, padded to spanp
  // entries (zero weights) so that reduction groups never straddle two rows; the kernel reads the
  // input (widened to int16 once for plain SIMD) at a row stride of W·C.
  D_IMPLICIT, D_SPANP,
  // pool (implicit layers with a grid output): a 2×2, stride-2 max pool fused in. The pixels are the
  // pooled ones; a tile holds the four conv pixels of one window, and their accumulators are reduced
  // before the epilogue: the max, or the min for channels whose multiplier M is negative (neg: −1),
  // since the epilogue is monotone in the accumulator, rising or falling with the sign of M.
  D_POOL, D_NEG,
};

#define AT(type, f) ((type)(uintptr_t)d[f])

// `len` bytes from src as panel entries, a vector at a time: it may read up to 15 bytes past src and
// write up to 15 entries past dst, which later writes of the same panel overwrite (the caller keeps
// slack after the input and the panel).
static inline void copyRun(pel* dst, const uint8_t* src, int len) {
#ifdef LOWBIT_RELAXED
  wasm_v128_store(dst, wasm_v128_load(src));
  for (int t = 16; t < len; t += 16) wasm_v128_store(dst + t, wasm_v128_load(src + t));
#else
  wasm_v128_store(dst, wasm_u16x8_load8x8(src));
  for (int t = 8; t < len; t += 8) wasm_v128_store(dst + t, wasm_u16x8_load8x8(src + t));
#endif
}

// The input windows of output pixels p0 .. p0+rows−1 as rows of Kp entries: the zero level's byte
// `pad` outside the image, 0 past K; rows up to `padded` are zero (their outputs are not written).
// A window row inside the image is one contiguous run of kw·C bytes (NHWC, no dilation): for a 5×5
// kernel on one channel, 5 vector copies instead of 25 taps.
static void gather(const int32_t* d, int p0, int rows, int padded, pel* panel) {
  const uint8_t* x = AT(const uint8_t*, D_X);
  const int H = d[D_H], W = d[D_W], C = d[D_C], kh = d[D_KH], kw = d[D_KW], dh = d[D_DH], dw = d[D_DW];
  const int Kp = d[D_KP], outH = d[D_OUTH], outW = d[D_OUTW], span = kw * C;
  const pel pad = (pel)d[D_PAD];
  int ow = p0 % outW, oh = (p0 / outW) % outH, n = p0 / (outW * outH);
  for (int r = 0; r < padded; r++) {
    pel* row = panel + r * Kp;
    int k = 0;
    if (r < rows) {
      const int iw0 = ow * d[D_SW] - d[D_PADL], ih0 = oh * d[D_SH] - d[D_PADT];
      if (dw == 1 && iw0 >= 0 && iw0 + kw <= W && ih0 >= 0 && ih0 + (kh - 1) * dh < H) {
        // The whole window inside the image: kh runs of kw·C bytes.
        const uint8_t* src = x + ((n * H + ih0) * W + iw0) * C;
        for (int i = 0; i < kh; i++, k += span) copyRun(row + k, src + i * dh * W * C, span);
      } else
        for (int i = 0; i < kh; i++) {
          const int ih = ih0 + i * dh;
          const int inH = ih >= 0 && ih < H;
          const uint8_t* base = x + (n * H + ih) * W * C;
          if (inH && dw == 1 && iw0 >= 0 && iw0 + kw <= W) {
            copyRun(row + k, base + iw0 * C, span);
            k += span;
            continue;
          }
          for (int j = 0; j < kw; j++, k += C) {
            const int iw = iw0 + j * dw;
            if (!inH || iw < 0 || iw >= W)
              for (int c = 0; c < C; c++) row[k + c] = pad;
            else
              copyRun(row + k, base + iw * C, C);
          }
        }
      if (++ow == outW) {
        ow = 0;
        if (++oh == outH) oh = 0, n++;
      }
    }
    // Zeros past K (a vector at a time, into the slack or the next row, which is written after).
    for (; k < Kp; k += 16 / sizeof(pel)) wasm_v128_store(row + k, wasm_i8x16_splat(0));
  }
}

// Block b's weights in the kernel's order (per reduction group: 4 channels × G entries, twice),
// from 16-entry chunks of 8-bit levels or 4-/2-bit indices into the level table `lut`.
static const v128_t* expand(const int32_t* d, int b, v128_t* dst) {
  const int Kp = d[D_KP], bits = d[D_BITS], chunks = Kp * CB / 16;
  const uint8_t* src = AT(const uint8_t*, D_WP) + b * chunks * 16 * bits / 8;
#ifdef LOWBIT_RELAXED
  if (bits == 8) return (const v128_t*)src;  // already int8 in order
#endif
  const v128_t lut = bits < 8 ? wasm_v128_load(AT(const void*, D_LUT)) : wasm_i8x16_splat(0);
  for (int t = 0; t < chunks; t++) {
    v128_t lv;
    if (bits == 8) lv = wasm_v128_load(src + 16 * t);
    else {
      v128_t idx;
      if (bits == 4) {
        // Entry e in byte e % 8, low nibble for e < 8.
        const v128_t v = wasm_v128_load64_zero(src + 8 * t);
        idx = wasm_i8x16_shuffle(wasm_v128_and(v, wasm_i8x16_splat(15)), wasm_u8x16_shr(v, 4), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19,
                                 20, 21, 22, 23);
      } else {
        // Entry e in byte e % 4 at bit 2·(e / 4).
        const v128_t v = wasm_v128_load32_zero(src + 4 * t);
        const v128_t lo = wasm_i8x16_shuffle(v, wasm_u8x16_shr(v, 2), 0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0);
        const v128_t hi = wasm_i8x16_shuffle(wasm_u8x16_shr(v, 4), wasm_u8x16_shr(v, 6), 0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0);
        idx = wasm_v128_and(wasm_i8x16_shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23), wasm_i8x16_splat(3));
      }
      lv = wasm_i8x16_swizzle(lut, idx);
    }
#ifdef LOWBIT_RELAXED
    dst[t] = lv;
#else
    dst[2 * t] = wasm_i16x8_extend_low_i8x16(lv);
    dst[2 * t + 1] = wasm_i16x8_extend_high_i8x16(lv);
#endif
  }
  return dst;
}

// floor((acc·M + B) / 2^shift) exactly in int64 (|acc| < 2^31, |M| < 2^36, |B| < 2^52, shift ≥ 16),
// as runtime/requant.ts's fixedPoint: acc split into 16-bit halves keeps every product in range.
static inline int64_t fixedPoint(int64_t acc, int64_t M, int64_t B, int shift) {
  const int64_t ah = acc >> 16, al = acc - ah * 65536;
  return (ah * M + ((al * M + B) >> 16)) >> (shift - 16);
}

static void epilogue(const int32_t* d, const int32_t* tile, int p, int rows, int c0) {
  const int cout = d[D_COUT], nc = cout - c0 < CB ? cout - c0 : CB;
  const int32_t* corr = AT(const int32_t*, D_CORR);
  if (d[D_EMODE] == 1) {
    const double *fa = AT(const double*, D_FA), *fb = AT(const double*, D_FB);
    float* out = AT(float*, D_OUT);
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < nc; c++) {
        const int ch = c0 + c;
        const double y = (double)(tile[r * CB + c] - (corr ? corr[ch] : 0)) * fa[ch] + fb[ch];
        out[(p + r) * cout + ch] = d[D_RELU] && y < 0 ? 0.0f : (float)y;
      }
    return;
  }
  const int64_t *M = AT(const int64_t*, D_M), *B = AT(const int64_t*, D_B), *thr = AT(const int64_t*, D_THR);
  const int32_t* shift = AT(const int32_t*, D_SHIFT);
  const uint8_t* ob = AT(const uint8_t*, D_OUTBYTES);
  uint8_t* out = AT(uint8_t*, D_OUT);
  const int T = d[D_T], minIndex = d[D_MININDEX], uniform = d[D_UNIFORM];
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < nc; c++) {
      const int ch = c0 + c;
      const int64_t V = fixedPoint(tile[r * CB + c] - (corr ? corr[ch] : 0), M[ch], B[ch], shift[ch]);
      int64_t idx;
      if (uniform >= 0) {
        idx = ((V - thr[0]) >> uniform) + 1;
        idx = idx < 0 ? 0 : idx > T ? T : idx;
      } else {
        int lo = 0, hi = T;
        while (lo < hi) {
          const int mid = (lo + hi) >> 1;
          if (thr[mid] <= V) lo = mid + 1;
          else hi = mid;
        }
        idx = lo;
      }
      out[(p + r) * cout + ch] = ob[idx > minIndex ? idx : minIndex];
    }
}

// The grid epilogue in double, two channels per vector, for uniform grids with consecutive output
// bytes. With V = floor(((acc − corr)·M + B) / 2^s) and thresholds t0 + i·2^u, the threshold count is
// floor((acc·M + Bc) / 2^(s+u)) with Bc = B − corr·M − t0·2^s + 2^(s+u) (nested floors of power-of-two
// divisions). The caller has checked that every |acc·M + Bc| < 2^53: then the product and the sum are
// exact integers in double, and scaling by a power of two and floor are exact, so the count equals
// the int64 one. Per channel: M, Bc, 2^−(s+u); then {lowest index, T, outBytes[0]}.
static void epilogueVector(const int32_t* d, const int32_t* tile, int p, int rows, int c0) {
  const int cout = d[D_COUT], nc = cout - c0 < CB ? cout - c0 : CB;
  const double *fm = AT(const double*, D_FM) + c0, *fb = AT(const double*, D_FB2) + c0, *fs = AT(const double*, D_FS) + c0;
  const double* fc = AT(const double*, D_FC);
  const v128_t lo = wasm_f64x2_splat(fc[0]), hi = wasm_f64x2_splat(fc[1]), base = wasm_i8x16_splat((int8_t)fc[2]);
  const v128_t m0 = wasm_v128_load(fm), m1 = wasm_v128_load(fm + 2), m2 = wasm_v128_load(fm + 4), m3 = wasm_v128_load(fm + 6);
  const v128_t b0 = wasm_v128_load(fb), b1 = wasm_v128_load(fb + 2), b2 = wasm_v128_load(fb + 4), b3 = wasm_v128_load(fb + 6);
  const v128_t s0 = wasm_v128_load(fs), s1 = wasm_v128_load(fs + 2), s2 = wasm_v128_load(fs + 4), s3 = wasm_v128_load(fs + 6);
  uint8_t* out = AT(uint8_t*, D_OUT);
  // One block of channels: a row's 8 bytes may run into the next pixel's, which is written after it.
  const int whole = nc == CB || cout <= CB;
#define COUNT(at, m, b, s)                                                                                              \
  wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_pmin(                                                                     \
      wasm_f64x2_pmax(wasm_f64x2_floor(wasm_f64x2_mul(                                                                 \
                          wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_convert_low_i32x4(wasm_v128_load64_zero(at)), m), b), s)), \
                      lo),                                                                                             \
      hi))
  for (int r = 0; r < rows; r++) {
    const int32_t* t = tile + r * CB;
    const v128_t i32a = wasm_i64x2_shuffle(COUNT(t, m0, b0, s0), COUNT(t + 2, m1, b1, s1), 0, 2);
    // Channels 4..7 only where the block has them (a first conv's 6 channels need one pair of them).
    const v128_t i32b = nc <= 4 ? wasm_i32x4_splat(0)
                        : wasm_i64x2_shuffle(COUNT(t + 4, m2, b2, s2), nc <= 6 ? wasm_i32x4_splat(0) : COUNT(t + 6, m3, b3, s3), 0, 2);
    const v128_t bytes = wasm_i8x16_add(wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(i32a, i32b), wasm_i16x8_splat(0)), base);
    uint8_t* o = out + (p + r) * cout + c0;
    if (whole) wasm_v128_store64_lane(o, bytes, 0);
    else {
      uint8_t tmp[16];
      wasm_v128_store(tmp, bytes);
      for (int c = 0; c < nc; c++) o[c] = tmp[c];
    }
  }
#undef COUNT
}

// One conv/dense layer over output pixels [pBegin, pEnd) (of all N·outH·outW), as `d` describes it.
__attribute__((export_name("qconv"))) void qconv(const int32_t* d, int pBegin, int pEnd) {
  const int Kp = d[D_KP], cout = d[D_COUT], rowsMax = d[D_ROWS], implicit = d[D_IMPLICIT];
  const int blocks = (cout + CB - 1) / CB;
  // Reduction rows of groups: one row of Kp entries (a panel row), or kh window rows of spanp entries.
  const int nr = implicit ? d[D_KH] : 1, gpr = (implicit ? d[D_SPANP] : Kp) / G, rs = d[D_W] * d[D_C];
  pel* panel = AT(pel*, D_SCRATCH);
  const pel* img = (const pel*)AT(const uint8_t*, D_X);
  int panelPels = implicit ? 0 : rowsMax * Kp;
#ifndef LOWBIT_RELAXED
  if (implicit) {
    // The whole input as int16, a vector at a time (slack after the input and the copy).
    const int n = d[D_N] * d[D_H] * d[D_W] * d[D_C];
    const uint8_t* x = AT(const uint8_t*, D_X);
    for (int i = 0; i < n; i += 8) wasm_v128_store(panel + i, wasm_u16x8_load8x8(x + i));
    img = panel;
    panelPels = n;
  }
#endif
  v128_t* wblock = (v128_t*)(panel + panelPels + 16);  // after the slack the gather may write into
  int32_t tile[R * CB];
  const int pool = d[D_POOL], pw = d[D_OUTW] / 2, ph = d[D_OUTH] / 2;
  for (int p0 = pBegin; p0 < pEnd; p0 += rowsMax) {
    const int rows = pEnd - p0 < rowsMax ? pEnd - p0 : rowsMax, padded = pool ? rows * R : (rows + R - 1) / R * R;
    if (!implicit) gather(d, p0, rows, padded, panel);
    for (int b = 0; b < blocks; b++) {
      const v128_t* wb = expand(d, b, wblock);
      // The (pooled) pixel p0's coordinates, advanced tile by tile below.
      const int ow0 = pool ? pw : d[D_OUTW], oh0 = pool ? ph : d[D_OUTH];
      int cw = p0 % ow0, ch = (p0 / ow0) % oh0, cn = p0 / (ow0 * oh0);
      for (int r0 = 0; r0 < padded; r0 += R) {
        const pel* a[R];
        const int q = p0 + r0 / R;  // the pooled pixel of this tile
        if (pool) {
          // The conv pixels (2·ph + i, 2·pc + j) of pooled pixel (n, ph, pc), which advances without divisions.
          const pel* at = img + ((cn * d[D_H] + 2 * ch * d[D_SH]) * d[D_W] + 2 * cw * d[D_SW]) * d[D_C];
          a[0] = at, a[1] = at + d[D_SW] * d[D_C], a[2] = at + d[D_SH] * rs, a[3] = a[2] + d[D_SW] * d[D_C];
          if (++cw == pw) {
            cw = 0;
            if (++ch == ph) ch = 0, cn++;
          }
        } else if (implicit)
          for (int r = 0; r < R; r++) {
            // Tile rows past the layer's pixels repeat its last one (their outputs are not written).
            a[r] = img + ((cn * d[D_H] + ch * d[D_SH]) * d[D_W] + cw * d[D_SW]) * d[D_C];
            if (p0 + r0 + r + 1 < pEnd && ++cw == d[D_OUTW]) {
              cw = 0;
              if (++ch == d[D_OUTH]) ch = 0, cn++;
            }
          }
        else
          for (int r = 0; r < R; r++) a[r] = panel + (r0 + r) * Kp;
        v128_t s00 = wasm_i32x4_splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        const v128_t* w = wb;
        for (int i = 0; i < nr; i++) {
          const pel *a0 = a[0] + i * rs, *a1 = a[1] + i * rs, *a2 = a[2] + i * rs, *a3 = a[3] + i * rs;
          for (int u = 0; u < gpr; u++, w += 2) {
            const v128_t w0 = w[0], w1 = w[1];
            v128_t x = wasm_v128_load32_splat(a0 + G * u);
            s00 = dot(s00, x, w0), s01 = dot(s01, x, w1);
            x = wasm_v128_load32_splat(a1 + G * u);
            s10 = dot(s10, x, w0), s11 = dot(s11, x, w1);
            x = wasm_v128_load32_splat(a2 + G * u);
            s20 = dot(s20, x, w0), s21 = dot(s21, x, w1);
            x = wasm_v128_load32_splat(a3 + G * u);
            s30 = dot(s30, x, w0), s31 = dot(s31, x, w1);
          }
        }
        v128_t* t = (v128_t*)tile;
        if (pool) {
          const v128_t* neg = AT(const v128_t*, D_NEG) + 2 * b;
          const v128_t hi0 = wasm_i32x4_max(wasm_i32x4_max(s00, s10), wasm_i32x4_max(s20, s30));
          const v128_t lo0 = wasm_i32x4_min(wasm_i32x4_min(s00, s10), wasm_i32x4_min(s20, s30));
          const v128_t hi1 = wasm_i32x4_max(wasm_i32x4_max(s01, s11), wasm_i32x4_max(s21, s31));
          const v128_t lo1 = wasm_i32x4_min(wasm_i32x4_min(s01, s11), wasm_i32x4_min(s21, s31));
          t[0] = wasm_v128_bitselect(lo0, hi0, neg[0]), t[1] = wasm_v128_bitselect(lo1, hi1, neg[1]);
          if (d[D_FM]) epilogueVector(d, tile, q, 1, b * CB);
          else epilogue(d, tile, q, 1, b * CB);
          continue;
        }
        t[0] = s00, t[1] = s01, t[2] = s10, t[3] = s11, t[4] = s20, t[5] = s21, t[6] = s30, t[7] = s31;
        const int live = rows - r0 < R ? rows - r0 : R;
        if (live <= 0) continue;
        if (d[D_FM]) epilogueVector(d, tile, p0 + r0, live, b * CB);
        else epilogue(d, tile, p0 + r0, live, b * CB);
      }
    }
  }
}

// maxPoolBytes(x, dims = {N,H,W,C, kh,kw, sh,sw, padT,padL, outH,outW}, out): the max byte of each
// window (bytes sort like values); padded positions are never picked. 16 channels per vector: a
// pixel's last vector may read past its channels and write into the next pixel's, which is written
// after it (the caller keeps slack after the input and the output).
__attribute__((export_name("maxpool"))) void maxpool(const uint8_t* x, const int32_t* dm, uint8_t* out) {
  const int N = dm[0], H = dm[1], W = dm[2], C = dm[3], kh = dm[4], kw = dm[5], sh = dm[6], sw = dm[7], padT = dm[8], padL = dm[9];
  const int outH = dm[10], outW = dm[11];
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < outH; oh++)
      for (int ow = 0; ow < outW; ow++) {
        uint8_t* o = out + ((n * outH + oh) * outW + ow) * C;
        for (int c = 0; c < C; c += 16) {
          v128_t m = wasm_i8x16_splat(0);
          for (int i = 0; i < kh; i++) {
            const int ih = oh * sh - padT + i;
            if (ih < 0 || ih >= H) continue;
            for (int j = 0; j < kw; j++) {
              const int iw = ow * sw - padL + j;
              if (iw >= 0 && iw < W) m = wasm_u8x16_max(m, wasm_v128_load(x + ((n * H + ih) * W + iw) * C + c));
            }
          }
          wasm_v128_store(o + c, m);
        }
      }
}

// The code index q − qmin of four float32 values: clamp(nearbyint(x / s) + zp) (q >= qmin is false
// for NaN: those take qmin).
static inline v128_t codeIndex(v128_t vs, v128_t vz, v128_t lo, v128_t hi, v128_t off, const float* at) {
  const v128_t q = wasm_f32x4_add(wasm_f32x4_nearest(wasm_f32x4_div(wasm_v128_load(at), vs)), vz);
  return wasm_i32x4_sub(wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_pmin(wasm_v128_bitselect(q, lo, wasm_f32x4_ge(q, lo)), hi)), off);
}

// quantizeBytes: the byte lut[q − qmin] of the code q = clamp(nearbyint(x / s) + zp) of a per-tensor
// uniform grid, in float32 as in training (fqUniform); NaN takes qmin. Four values per vector (the
// same float32 operations lane by lane); where the table is consecutive bytes (lut[i] = lut[0] + i,
// every int grid) sixteen bytes are narrowed at once, else each is looked up.
__attribute__((export_name("quantize"))) void quantize(const float* x, int n, float s, float zp, int qmin, int qmax, const uint8_t* lut,
                                                       uint8_t* out) {
  const v128_t vs = wasm_f32x4_splat(s), vz = wasm_f32x4_splat(zp), lo = wasm_f32x4_splat((float)qmin), hi = wasm_f32x4_splat((float)qmax);
  const v128_t off = wasm_i32x4_splat(qmin);
  int consecutive = 1;
  for (int i = 1; i <= qmax - qmin && consecutive; i++) consecutive = lut[i] == (uint8_t)(lut[0] + i);
  const v128_t base = wasm_i32x4_splat(lut[0]);
  int i = 0;
  if (consecutive)
    for (; i + 16 <= n; i += 16) {
      const v128_t a = wasm_i32x4_add(codeIndex(vs, vz, lo, hi, off, x + i), base), b = wasm_i32x4_add(codeIndex(vs, vz, lo, hi, off, x + i + 4), base);
      const v128_t c = wasm_i32x4_add(codeIndex(vs, vz, lo, hi, off, x + i + 8), base), e = wasm_i32x4_add(codeIndex(vs, vz, lo, hi, off, x + i + 12), base);
      wasm_v128_store(out + i, wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_narrow_i32x4(c, e)));
    }
  for (; i + 4 <= n; i += 4) {
    const v128_t k = codeIndex(vs, vz, lo, hi, off, x + i);
    out[i] = lut[wasm_i32x4_extract_lane(k, 0)];
    out[i + 1] = lut[wasm_i32x4_extract_lane(k, 1)];
    out[i + 2] = lut[wasm_i32x4_extract_lane(k, 2)];
    out[i + 3] = lut[wasm_i32x4_extract_lane(k, 3)];
  }
  for (; i < n; i++) {
    float v = __builtin_nearbyintf(x[i] / s) + zp;
    v = !(v >= (float)qmin) ? (float)qmin : v > (float)qmax ? (float)qmax : v;
    out[i] = lut[(int)v - qmin];
  }
}

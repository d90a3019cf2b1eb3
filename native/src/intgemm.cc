// Integer inference kernels of the packed-model runtime (src/deploy/runtime/). Activations
// between integer layers are bytes: the integer level of each value plus an offset (0 for
// unsigned grids, 128 for signed ones). qconv runs a whole conv/dense layer as a blocked GEMM:
// a panel of output pixels has its input windows gathered once (im2col of bytes, per thread),
// then for every block of 16 output channels the panel is swept in register tiles of 5 pixels ×
// 16 channels with the whole reduction in registers, and the fixed-point epilogue writes the next
// layer's bytes (or float logits). The weight block (at most 64 KB) and the panel (at most
// 192 KB) stay in L1/L2 while they are reused. Bit-exact with the TypeScript path (ops.ts,
// requant.ts): integer arithmetic throughout, int64 (int128 where a multiplier needs it) for
// acc·M + B, float outputs in double without contraction.
//
// Two inner kernels, chosen per layer by the largest activation byte and weight level:
// - maddubs (amode 0): u8 activations × s8 weights, 4 reduction entries per 32-bit lane
//   (_mm256_maddubs_epi16), summed in int16 for `steps` groups before widening to int32. Exact
//   while `steps`·2·amax·wmax ≤ 32767, which low-bit layers allow by a wide margin (W4A4: 64
//   groups per widening, one multiply per 32 MACs).
// - madd16 (amode 1): activations widened to u16 at gather time, weights widened from s8 in
//   registers (_mm256_cvtepi8_epi16), _mm256_madd_epi16 into int32: exact for any byte, used when
//   8-bit activations meet 8-bit weights.
// Weights are stored at their own width: levels as s8 (bits 8), or codes at 4 or 2 bits with a
// 16-entry table from code to level (the format's levels, shared by all channels). Packed blocks
// are expanded through the table with _mm256_shuffle_epi8 into a per-thread 16-channel scratch
// block right before the panel sweep that uses it, so the model stays packed in memory.
#include "common.h"
#include "epilogue.h"
#include <immintrin.h>
#include <omp.h>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#pragma GCC optimize("fp-contract=off")

namespace lowbit {

namespace {

constexpr int TR = 5;   // pixels per register tile: 10 sums + 2 weights + broadcast + product fit 16 ymm
constexpr int CB = 16;  // output channels per block
constexpr size_t PANEL_BYTES = 192 * 1024;

struct Geometry {
  int N, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, outH, outW;
};

// The input windows of output pixels p0 .. p0+rows−1, one row of Kp entries each (the zero level
// `pad` outside the image, 0 past K). Pixel coordinates advance incrementally (no division per
// pixel), and a window row inside the image is one contiguous run of kw·C entries (NHWC, no
// dilation): for a 5×5 kernel on one channel, 5 copies of 5 instead of 25 of 1.
// n bytes from src to dst without a library call for the short runs of small kernels (a 5×5 kernel
// on one channel copies runs of 5): two overlapping fixed-size moves, never past either end.
inline void copyBytes(uint8_t* dst, const uint8_t* src, int n) {
  if (n >= 32) std::memcpy(dst, src, n);
  else if (n >= 16) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else
    for (int i = 0; i < n; i++) dst[i] = src[i];
}

template <typename T>
void gatherPanel(const uint8_t* x, const Geometry& g, size_t p0, int rows, int Kp, uint8_t pad, T* panel) {
  const size_t hw = size_t(g.outH) * g.outW;
  int n = int(p0 / hw), oh = int(p0 % hw) / g.outW, ow = int(p0 % hw) % g.outW;
  const int span = g.kw * g.C;
  for (int r = 0; r < rows; r++) {
    T* row = panel + size_t(r) * Kp;
    const int iw0 = ow * g.sw - g.padL;
    const bool inW = g.dw == 1 && iw0 >= 0 && iw0 + g.kw <= g.W;
    int k = 0;
    for (int i = 0; i < g.kh; i++) {
      const int ih = oh * g.sh - g.padT + i * g.dh;
      const bool inH = ih >= 0 && ih < g.H;
      if (inH && inW) {
        const uint8_t* s = x + ((size_t(n) * g.H + ih) * g.W + iw0) * g.C;
        if constexpr (sizeof(T) == 1) copyBytes(row + k, s, span);
        else for (int c = 0; c < span; c++) row[k + c] = s[c];
        k += span;
        continue;
      }
      for (int j = 0; j < g.kw; j++) {
        const int iw = iw0 + j * g.dw;
        T* d = row + k;
        if (!inH || iw < 0 || iw >= g.W) {
          for (int c = 0; c < g.C; c++) d[c] = pad;
        } else {
          const uint8_t* s = x + ((size_t(n) * g.H + ih) * g.W + iw) * g.C;
          if constexpr (sizeof(T) == 1) copyBytes(d, s, g.C);
          else for (int c = 0; c < g.C; c++) d[c] = s[c];
        }
        k += g.C;
      }
    }
    for (; k < Kp; k++) row[k] = 0;
    if (++ow == g.outW) {
      ow = 0;
      if (++oh == g.outH) oh = 0, n++;
    }
  }
}

// u16 copies of n bytes (n a multiple of 16). `in` may be the upper half of `out`.
void widen(const uint8_t* in, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
}

// amode 0: acc[r][0..15] = Σ_k a[r][k]·w[k][ch] with a block laid out as 64 bytes per group of
// 4 reduction entries: channels 0-7 × 4 bytes, then channels 8-15 × 4 bytes. Written in assembly
// because compilers spill this tile: 10 int16 sums (ymm0-9), two weight vectors (ymm10-11) and
// two broadcast/product pairs (ymm12-15) use all 16 registers. Each chunk of `steps` groups sums
// in int16, then widens (madd with ones) into the int32 totals in acc.
void tileMaddubs(const uint8_t* const a[TR], const int8_t* w, int K4, int steps, int32_t acc[TR][CB]) {
  std::memset(acc, 0, sizeof(int32_t) * TR * CB);
  for (int k0 = 0; k0 < K4; k0 += steps) {
    const int8_t* wp = w + size_t(k0) * 64;
    size_t off = size_t(k0) * 4;
    size_t cnt = size_t(std::min(K4, k0 + steps) - k0);
    asm volatile(
      "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
      "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
      "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
      "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
      "1:\n\t"
      "vmovdqu (%[w]), %%ymm10\n\t"
      "vmovdqu 32(%[w]), %%ymm11\n\t"
      "vpbroadcastd (%[a0],%[o]), %%ymm12\n\t"
      "vpmaddubsw %%ymm10, %%ymm12, %%ymm13\n\t"
      "vpaddw %%ymm13, %%ymm0, %%ymm0\n\t"
      "vpmaddubsw %%ymm11, %%ymm12, %%ymm13\n\t"
      "vpaddw %%ymm13, %%ymm1, %%ymm1\n\t"
      "vpbroadcastd (%[a1],%[o]), %%ymm14\n\t"
      "vpmaddubsw %%ymm10, %%ymm14, %%ymm15\n\t"
      "vpaddw %%ymm15, %%ymm2, %%ymm2\n\t"
      "vpmaddubsw %%ymm11, %%ymm14, %%ymm15\n\t"
      "vpaddw %%ymm15, %%ymm3, %%ymm3\n\t"
      "vpbroadcastd (%[a2],%[o]), %%ymm12\n\t"
      "vpmaddubsw %%ymm10, %%ymm12, %%ymm13\n\t"
      "vpaddw %%ymm13, %%ymm4, %%ymm4\n\t"
      "vpmaddubsw %%ymm11, %%ymm12, %%ymm13\n\t"
      "vpaddw %%ymm13, %%ymm5, %%ymm5\n\t"
      "vpbroadcastd (%[a3],%[o]), %%ymm14\n\t"
      "vpmaddubsw %%ymm10, %%ymm14, %%ymm15\n\t"
      "vpaddw %%ymm15, %%ymm6, %%ymm6\n\t"
      "vpmaddubsw %%ymm11, %%ymm14, %%ymm15\n\t"
      "vpaddw %%ymm15, %%ymm7, %%ymm7\n\t"
      "vpbroadcastd (%[a4],%[o]), %%ymm12\n\t"
      "vpmaddubsw %%ymm10, %%ymm12, %%ymm13\n\t"
      "vpaddw %%ymm13, %%ymm8, %%ymm8\n\t"
      "vpmaddubsw %%ymm11, %%ymm12, %%ymm13\n\t"
      "vpaddw %%ymm13, %%ymm9, %%ymm9\n\t"
      "add $64, %[w]\n\t"
      "add $4, %[o]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vpcmpeqw %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpsrlw $15, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm10, %%ymm0, %%ymm0\n\t"
      "vpaddd 0(%[acc]), %%ymm0, %%ymm0\n\t"
      "vmovdqu %%ymm0, 0(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm1, %%ymm1\n\t"
      "vpaddd 32(%[acc]), %%ymm1, %%ymm1\n\t"
      "vmovdqu %%ymm1, 32(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm2, %%ymm2\n\t"
      "vpaddd 64(%[acc]), %%ymm2, %%ymm2\n\t"
      "vmovdqu %%ymm2, 64(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm3, %%ymm3\n\t"
      "vpaddd 96(%[acc]), %%ymm3, %%ymm3\n\t"
      "vmovdqu %%ymm3, 96(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm4, %%ymm4\n\t"
      "vpaddd 128(%[acc]), %%ymm4, %%ymm4\n\t"
      "vmovdqu %%ymm4, 128(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm5, %%ymm5\n\t"
      "vpaddd 160(%[acc]), %%ymm5, %%ymm5\n\t"
      "vmovdqu %%ymm5, 160(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm6, %%ymm6\n\t"
      "vpaddd 192(%[acc]), %%ymm6, %%ymm6\n\t"
      "vmovdqu %%ymm6, 192(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm7, %%ymm7\n\t"
      "vpaddd 224(%[acc]), %%ymm7, %%ymm7\n\t"
      "vmovdqu %%ymm7, 224(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm8, %%ymm8\n\t"
      "vpaddd 256(%[acc]), %%ymm8, %%ymm8\n\t"
      "vmovdqu %%ymm8, 256(%[acc])\n\t"
      "vpmaddwd %%ymm10, %%ymm9, %%ymm9\n\t"
      "vpaddd 288(%[acc]), %%ymm9, %%ymm9\n\t"
      "vmovdqu %%ymm9, 288(%[acc])\n\t"
      : [w] "+r"(wp), [o] "+r"(off), [n] "+r"(cnt)
      : [a0] "r"(a[0]), [a1] "r"(a[1]), [a2] "r"(a[2]), [a3] "r"(a[3]), [a4] "r"(a[4]), [acc] "r"(&acc[0][0])
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  }
}

// amode 1: the same sums with u16 activations; a block holds 32 bytes per pair of reduction
// entries: channels 0-15 × (k, k+1) as s8, widened to s16 in registers (vpmovsxbw) and summed
// with vpmaddwd into int32 (ymm0-9), exact for any byte.
void tileMadd16(const uint16_t* const a[TR], const int8_t* w, int K2, int32_t acc[TR][CB]) {
  const int8_t* wp = w;
  size_t off = 0, cnt = size_t(K2);
  asm volatile(
    "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
    "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
    "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
    "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
    "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
    "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
    "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
    "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
    "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
    "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
    "1:\n\t"
    "vpmovsxbw (%[w]), %%ymm10\n\t"
    "vpmovsxbw 16(%[w]), %%ymm11\n\t"
    "vpbroadcastd (%[a0],%[o]), %%ymm12\n\t"
    "vpmaddwd %%ymm10, %%ymm12, %%ymm13\n\t"
    "vpaddd %%ymm13, %%ymm0, %%ymm0\n\t"
    "vpmaddwd %%ymm11, %%ymm12, %%ymm13\n\t"
    "vpaddd %%ymm13, %%ymm1, %%ymm1\n\t"
    "vpbroadcastd (%[a1],%[o]), %%ymm14\n\t"
    "vpmaddwd %%ymm10, %%ymm14, %%ymm15\n\t"
    "vpaddd %%ymm15, %%ymm2, %%ymm2\n\t"
    "vpmaddwd %%ymm11, %%ymm14, %%ymm15\n\t"
    "vpaddd %%ymm15, %%ymm3, %%ymm3\n\t"
    "vpbroadcastd (%[a2],%[o]), %%ymm12\n\t"
    "vpmaddwd %%ymm10, %%ymm12, %%ymm13\n\t"
    "vpaddd %%ymm13, %%ymm4, %%ymm4\n\t"
    "vpmaddwd %%ymm11, %%ymm12, %%ymm13\n\t"
    "vpaddd %%ymm13, %%ymm5, %%ymm5\n\t"
    "vpbroadcastd (%[a3],%[o]), %%ymm14\n\t"
    "vpmaddwd %%ymm10, %%ymm14, %%ymm15\n\t"
    "vpaddd %%ymm15, %%ymm6, %%ymm6\n\t"
    "vpmaddwd %%ymm11, %%ymm14, %%ymm15\n\t"
    "vpaddd %%ymm15, %%ymm7, %%ymm7\n\t"
    "vpbroadcastd (%[a4],%[o]), %%ymm12\n\t"
    "vpmaddwd %%ymm10, %%ymm12, %%ymm13\n\t"
    "vpaddd %%ymm13, %%ymm8, %%ymm8\n\t"
    "vpmaddwd %%ymm11, %%ymm12, %%ymm13\n\t"
    "vpaddd %%ymm13, %%ymm9, %%ymm9\n\t"
    "add $32, %[w]\n\t"
    "add $4, %[o]\n\t"
    "dec %[n]\n\t"
    "jnz 1b\n\t"
    "vmovdqu %%ymm0, 0(%[acc])\n\t"
    "vmovdqu %%ymm1, 32(%[acc])\n\t"
    "vmovdqu %%ymm2, 64(%[acc])\n\t"
    "vmovdqu %%ymm3, 96(%[acc])\n\t"
    "vmovdqu %%ymm4, 128(%[acc])\n\t"
    "vmovdqu %%ymm5, 160(%[acc])\n\t"
    "vmovdqu %%ymm6, 192(%[acc])\n\t"
    "vmovdqu %%ymm7, 224(%[acc])\n\t"
    "vmovdqu %%ymm8, 256(%[acc])\n\t"
    "vmovdqu %%ymm9, 288(%[acc])\n\t"
    : [w] "+r"(wp), [o] "+r"(off), [n] "+r"(cnt)
    : [a0] "r"(a[0]), [a1] "r"(a[1]), [a2] "r"(a[2]), [a3] "r"(a[3]), [a4] "r"(a[4]), [acc] "r"(&acc[0][0])
    : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

// Expands a packed block (64-byte units at `bits` per entry: unit u of a group of 8/bits units
// sits in bits [u·bits, (u+1)·bits) of each byte) into s8 levels through the table.
void unpackBlock(const uint8_t* src, int units, int bits, const __m256i lut, int8_t* dst) {
  const int per = 8 / bits;
  const __m256i mask = _mm256_set1_epi8(char((1 << bits) - 1));
  for (int u0 = 0; u0 < units; u0 += per) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + size_t(u0 / per) * 64));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + size_t(u0 / per) * 64 + 32));
    for (int j = 0; j < per; j++) {
      // 16-bit shifts move bits across byte boundaries; the mask keeps each byte's own field.
      const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(v0, j * bits), mask);
      const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(v1, j * bits), mask);
      _mm256_store_si256(reinterpret_cast<__m256i*>(dst + size_t(u0 + j) * 64), _mm256_shuffle_epi8(lut, c0));
      _mm256_store_si256(reinterpret_cast<__m256i*>(dst + size_t(u0 + j) * 64 + 32), _mm256_shuffle_epi8(lut, c1));
    }
  }
}

inline uint8_t* align32(uint8_t* p) { return p + ((32 - reinterpret_cast<uintptr_t>(p) % 32) % 32); }

}  // namespace

// qconv(x u8, geo i32[14], meta i32[6] = {Kp, N, steps, pad, amode, bits}, Wp u8, lut i8[16]|null,
//       corr i32[N]|null, emode, ...the epilogue's arguments (epilogue.h)):
// acc = Σ_k window[k]·W[k][n] − corr[n] (corr removes a signed grid's offset: 128·Σ_k W[k][n]).
// Wp holds ceil(N/16) blocks of Kp·16·bits/8 bytes in the amode's layout; Kp is a multiple of 16.
static Napi::Value Qconv(const Napi::CallbackInfo& info) {
  const ConvInputs in(info, 6, "qconv");
  const auto &x = in.x, &Wp = in.wp;
  const auto &gd = in.geo, &meta = in.meta, &corr = in.corr;
  const auto& lutArg = in.lut;
  const Geometry g{gd.data[0], gd.data[1], gd.data[2], gd.data[3], gd.data[4], gd.data[5], gd.data[6],
                   gd.data[7], gd.data[8], gd.data[9], gd.data[10], gd.data[11], gd.data[12], gd.data[13]};
  const int Kp = meta.data[0], N = meta.data[1], steps = meta.data[2], pad = meta.data[3], amode = meta.data[4], bits = meta.data[5];
  const size_t P = size_t(g.N) * g.outH * g.outW;
  const int K = g.kh * g.kw * g.C, nb = (N + CB - 1) / CB;
  const size_t blockBytes = size_t(Kp) * CB * bits / 8;
  if (Kp % 16 || Kp < K || N < 1 || (amode != 0 && amode != 1) || (bits != 8 && bits != 4 && bits != 2) ||
      x.length != size_t(g.N) * g.H * g.W * g.C || Wp.length != size_t(nb) * blockBytes || (amode == 0 && steps < 1) ||
      (bits < 8 && lutArg.length != 16) || (corr.data && corr.length != size_t(N)) || pad < 0 || pad > 255)
    fail("qconv: array lengths do not match");
  const Epilogue ep(info, 6, N, P, "qconv");
  const GridEpilogue& ge = ep.grid;
  const VectorEpilogue& ve = ep.vector;
  const int emode = ep.emode;
  std::vector<int32_t> corrv(size_t(N) + 16, 0);
  if (corr.data) std::copy(corr.data, corr.data + N, corrv.begin());
  alignas(16) int8_t lut16[16] = {0};
  if (bits < 8) std::memcpy(lut16, lutArg.data, 16);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(lut16)));

  // Panels of Mc pixels (a multiple of the tile height) sized to stay in L2; when there are too
  // few panels to keep every thread busy (dense layers: one row per image), the channel blocks
  // of a panel are split between work items too.
  const size_t rowBytes = size_t(Kp) * (amode ? 2 : 1);
  const int Mc = int(std::max<size_t>(TR, std::min<size_t>(96, PANEL_BYTES / rowBytes / TR * TR)));
  const size_t panels = (P + Mc - 1) / Mc;
  const int nt = (P * size_t(K) * N > (1 << 18)) ? threads() : 1;
  const size_t wantItems = size_t(nt) * 4;
  const int chunks = panels >= wantItems ? 1 : int(std::min<size_t>(nb, (wantItems + panels - 1) / panels));
  const int perChunk = (nb + chunks - 1) / chunks;
  const size_t items = panels * chunks;
  const int K4 = Kp / 4;
  // Small packed layers are expanded once per call (every panel reuses them); large ones block
  // by block inside the panel loop, so the expanded copy never outgrows a thread's L1/L2.
  const size_t expandedBytes = size_t(nb) * Kp * CB;
  const bool expandOnce = bits < 8 && (expandedBytes <= (size_t(256) << 10) || panels == 1);
  std::vector<uint8_t> expandedBuf(expandOnce ? expandedBytes + 64 : 0);
  int8_t* expanded = expandOnce ? reinterpret_cast<int8_t*>(align32(expandedBuf.data())) : nullptr;
  if (expandOnce)
    for (int b = 0; b < nb; b++) unpackBlock(Wp.data + size_t(b) * blockBytes, K4, bits, lut, expanded + size_t(b) * Kp * CB);
#pragma omp parallel num_threads(nt)
  {
    // 32-byte aligned scratch: the panel, and one expanded block of packed weights.
    std::vector<uint8_t> panelBuf(size_t(Mc) * rowBytes + 64), blockBuf(size_t(Kp) * CB + 64);
    uint8_t* panel = align32(panelBuf.data());
    int8_t* scratch = reinterpret_cast<int8_t*>(align32(blockBuf.data()));
    size_t gathered = SIZE_MAX;
    alignas(32) int32_t acc[TR][CB];
    // A private copy: its fields stay in registers instead of being reloaded through a pointer.
    const GridEpilogue e = ge;
#pragma omp for schedule(dynamic, 1)
    for (size_t item = 0; item < items; item++) {
      const size_t pn = item / chunks;
      const int b0 = int(item % chunks) * perChunk, b1 = std::min(nb, b0 + perChunk);
      const size_t p0 = pn * Mc;
      const int rows = int(std::min<size_t>(Mc, P - p0));
      if (gathered != pn) {
        if (amode) {
          // Gather bytes into the panel's upper half, then widen front to back (the u16 write
          // of entry i never passes the byte at i still to be read).
          uint8_t* bytes = panel + size_t(rows) * Kp;
          gatherPanel(x.data, g, p0, rows, Kp, uint8_t(pad), bytes);
          widen(bytes, size_t(rows) * Kp, reinterpret_cast<uint16_t*>(panel));
        } else gatherPanel(x.data, g, p0, rows, Kp, uint8_t(pad), panel);
        gathered = pn;
      }
      for (int b = b0; b < b1; b++) {
        const uint8_t* src = Wp.data + size_t(b) * blockBytes;
        const int8_t* w = reinterpret_cast<const int8_t*>(src);
        if (expandOnce) w = expanded + size_t(b) * Kp * CB;
        else if (bits < 8) {
          unpackBlock(src, K4, bits, lut, scratch);
          w = scratch;
        }
        const int base = b * CB, nc = std::min(CB, N - base);
        for (int r0 = 0; r0 < rows; r0 += TR) {
          const int tr = std::min(TR, rows - r0);
          if (amode) {
            const uint16_t* a[TR];
            for (int r = 0; r < TR; r++) a[r] = reinterpret_cast<const uint16_t*>(panel) + size_t(r0 + (r < tr ? r : 0)) * Kp;
            tileMadd16(a, w, Kp / 2, acc);
          } else {
            const uint8_t* a[TR];
            for (int r = 0; r < TR; r++) a[r] = panel + size_t(r0 + (r < tr ? r : 0)) * Kp;
            tileMaddubs(a, w, K4, steps, acc);
          }
          for (int r = 0; r < tr; r++) {
            const size_t o = (p0 + r0 + r) * N + base;
            int c = 0;
            if (ve.usable) {
              for (; c + 8 <= nc; c += 8) ve.run(acc[r] + c, corrv.data() + base + c, (base + c) / 8, ep.out8.data + o + c);
              if (c < nc) {
                uint8_t part[8];
                ve.run(acc[r] + c, corrv.data() + base + c, (base + c) / 8, part);
                for (int j = 0; c < nc; c++, j++) ep.out8.data[o + c] = part[j];
              }
            }
            for (; c < nc; c++) {
              const int ch = base + c;
              const int32_t v = acc[r][c] - corrv[ch];
              if (emode == 0) ep.out8.data[o + c] = e.byteOf(v, ch);
              else ep.scalar(v, ch, p0 + r0 + r, N);
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
// training (fqUniform). Eight values per vector with the same float32 operations (vroundps rounds
// half to even like nearbyint); where the table is consecutive bytes (every int grid) 32 bytes are
// narrowed at once, else each is looked up.
static Napi::Value QuantizeBytes(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0);
  const float s = argFloat(info, 1), z = argFloat(info, 2);
  const int qmin = argInt(info, 3), qmax = argInt(info, 4);
  auto lut = arg<uint8_t>(info, 5);
  auto out = arg<uint8_t>(info, 6);
  if (out.length != x.length || qmax < qmin || lut.length != size_t(qmax - qmin + 1)) fail("quantizeBytes: array lengths do not match");
  bool consecutive = true;
  for (int i = 1; i <= qmax - qmin && consecutive; i++) consecutive = lut.data[i] == uint8_t(lut.data[0] + i);
  const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(z), lo = _mm256_set1_ps(float(qmin)), hi = _mm256_set1_ps(float(qmax));
  const __m256i base = _mm256_set1_epi32(int(lut.data[0]) - qmin);
  // The code of 8 values; NaN (a damaged model's overflow) fails q >= qmin and takes the lowest code.
  auto codes = [&](const float* at) {
    __m256 q = _mm256_add_ps(_mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(at), vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vz);
    q = _mm256_blendv_ps(lo, q, _mm256_cmp_ps(q, lo, _CMP_GE_OQ));
    return _mm256_cvttps_epi32(_mm256_min_ps(q, hi));
  };
  const size_t n = x.length, blocks = consecutive ? n / 32 : 0;
  // A second thread pays off only on large inputs: waking it costs about what 200k values take here.
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > (1 << 21))
  for (size_t b = 0; b < blocks; b++) {
    const float* at = x.data + b * 32;
    // Bytes lut[0] + (q − qmin), packed with saturation (in range already) and put back in order.
    const __m256i a = _mm256_packs_epi32(_mm256_add_epi32(codes(at), base), _mm256_add_epi32(codes(at + 8), base));
    const __m256i c = _mm256_packs_epi32(_mm256_add_epi32(codes(at + 16), base), _mm256_add_epi32(codes(at + 24), base));
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, c), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.data + b * 32), bytes);
  }
  for (size_t i = blocks * 32; i < n; i++) {
    float q = std::nearbyint(x.data[i] / s) + z;
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
LOWBIT_REGISTER(registerIntGemm);

}  // namespace lowbit

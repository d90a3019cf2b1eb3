// The native integer conv that reads input windows in place, with no gathered panel, and fuses a
// following 2×2 stride-2 max pool. It runs every conv/dense layer whose window rows are contiguous
// (no horizontal dilation); intgemm.cc gathers panels for the rest. The same design as the
// WebAssembly kernel (native/wasm/qconv.c), at AVX2 width:
// - a window row of kw·C input bytes is contiguous (NHWC); the weight stream pads it to spanp
//   entries (a multiple of 4, zero weights), so a reduction group of 4 entries never straddles two
//   rows, and reads up to 3 bytes past a row, which meet zero weights (the caller keeps 3 bytes of
//   slack after the input, else it is copied);
// - padded convs ('same') run on a copy of the input with a border of the zero level's byte, as a
//   valid conv: a copy of the input costs a fraction of gathering kh·kw copies of it;
// - one reduction group of a pixel is one 32-bit broadcast, met by one weight vector of 8 channels
//   × 4 entries: register tiles of 4 pixels × 16 channels or 8 pixels × 8 channels, no horizontal
//   sums;
// - the dot product is vpdpbusd where the CPU has VNNI (AVX-512 VL or AVX-VNNI: u8 × s8 summed in
//   int32 exactly, for any bytes), else vpmaddubsw summed in int16 for `steps` groups at a time
//   before widening, exact while steps·2·maxByte·maxLevel ≤ 32767 (the caller chooses steps, and
//   sends layers that allow no step to intgemm.cc);
// - weights stay at 2, 4 or 8 bits and are expanded through the level table once per call;
// - with a fused pool, a tile's pixels are the four conv pixels of a pool window (or of two), whose
//   sums reduce to the max (the min where the channel's multiplier is negative: the epilogue is
//   monotone in the sum) before one epilogue per window.
// lenet5's first layer (one input channel, six outputs, 5×5) shows the difference: the gathered GEMM
// pads it to 16 channels and 32 entries and gathers 25 bytes a pixel.
#include "common.h"
#include "epilogue.h"
#include <immintrin.h>
#include <omp.h>
#include <algorithm>
#include <cstring>
#include <vector>

#pragma GCC optimize("fp-contract=off")

namespace lowbit {

namespace {

// The instruction sets of the dot product, lowest first.
enum Isa { AVX2 = 0, AVX_VNNI = 1, AVX512_VNNI = 2 };
const char* const isaNames[] = {"avx2", "avxvnni", "avx512vnni"};

// Which of them this CPU runs (a CPU may have AVX-512 VNNI without AVX-VNNI, or the reverse).
bool hasIsa(int isa) {
  __builtin_cpu_init();
  if (isa == AVX512_VNNI) return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
  if (isa == AVX_VNNI) return __builtin_cpu_supports("avxvnni");
  return true;
}
const int bestIsa = hasIsa(AVX512_VNNI) ? AVX512_VNNI : hasIsa(AVX_VNNI) ? AVX_VNNI : AVX2;
int activeIsa = bestIsa;

// acc + Σ of 4 products u8(x) · s8(w) per 32-bit lane, exact in int32. Written as assembly so that
// the file builds for AVX2 and runs these only where the CPU has them.
template <int ISA>
inline __m256i dot(__m256i acc, __m256i x, __m256i w) {
  static_assert(ISA == AVX512_VNNI || ISA == AVX_VNNI, "AVX2 sums in int16 (tile)");
  if constexpr (ISA == AVX512_VNNI) asm("%{evex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w));
  else asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w));
  return acc;
}

inline __m256i splat4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// The sums of R pixels (window origins a[r]) × 8·V channels over kh window rows of gpr groups, the
// rows rs bytes apart in the input; w[v] is the stream of vector v (32 bytes per group). With VNNI
// the int32 sums stay in registers; on AVX2 the registers hold int16 sums of up to `steps` groups,
// widened into the int32 sums between chunks.
template <int ISA, int R, int V>
inline void tile(const uint8_t* const* a, int kh, int gpr, size_t rs, int steps, const int8_t* const* w, __m256i (&acc)[R][V]) {
  constexpr bool vnni = ISA != AVX2;
  __m256i s16[R][V];  // AVX2 only: the int16 sums of the current chunk
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = s16[r][v] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  auto widen = [&]() {
    for (int r = 0; r < R; r++)
      for (int v = 0; v < V; v++) {
        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(s16[r][v], ones));
        s16[r][v] = _mm256_setzero_si256();
      }
  };
  const int8_t* wp[V];
  for (int v = 0; v < V; v++) wp[v] = w[v];
  int left = steps;
  for (int i = 0; i < kh; i++) {
    const uint8_t* p[R];
    for (int r = 0; r < R; r++) p[r] = a[r] + i * rs;
    for (int u = 0; u < gpr; u++) {
      __m256i wv[V];
      for (int v = 0; v < V; v++) wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp[v] + 32 * u));
      for (int r = 0; r < R; r++) {
        const __m256i x = splat4(p[r] + 4 * u);
        for (int v = 0; v < V; v++)
          if constexpr (vnni) acc[r][v] = dot<ISA>(acc[r][v], x, wv[v]);
          else s16[r][v] = _mm256_add_epi16(s16[r][v], _mm256_maddubs_epi16(x, wv[v]));
      }
      if (!vnni && --left == 0) widen(), left = steps;
    }
    for (int v = 0; v < V; v++) wp[v] += 32 * gpr;
  }
  if (!vnni && left != steps) widen();
}

// Expands `groups` groups of 32 weights stored at `bits` (4: 16 bytes a group, entry e in the low
// nibble of byte e for e < 16, the high nibble of byte e − 16 after; 2: 8 bytes, entry e at bit
// 2·(e / 8) of byte e % 8) into s8 levels through the 16-entry table.
void expandStream(const uint8_t* src, int groups, int bits, const __m256i lut, int8_t* dst) {
  const __m128i m4 = _mm_set1_epi8(15), m2 = _mm_set1_epi8(3);
  for (int g = 0; g < groups; g++) {
    __m256i idx;
    if (bits == 4) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + size_t(g) * 16));
      idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
    } else {
      const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + size_t(g) * 8));
      const __m128i lo = _mm_unpacklo_epi64(v, _mm_srli_epi16(v, 2)), hi = _mm_unpacklo_epi64(_mm_srli_epi16(v, 4), _mm_srli_epi16(v, 6));
      idx = _mm256_set_m128i(_mm_and_si128(hi, m2), _mm_and_si128(lo, m2));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + size_t(g) * 32), _mm256_shuffle_epi8(lut, idx));
  }
}

struct Layer {
  int N, H, W, C, kh, kw, sh, sw, outH, outW;  // conv geometry (outH, outW before pooling)
  int cout, spanp, bits, pool, steps;
  size_t rs;     // bytes from one window row to the next (dh image rows)
  size_t units;  // output pixels, or pooled pixels with a fused pool
  int uh, uw;    // the unit grid per image
};

// The window origins of units [u0, u1): one per pixel, or the four conv pixels of each pool window.
void origins(const Layer& L, const uint8_t* x, size_t u0, size_t u1, const uint8_t** out) {
  int n = int(u0 / (size_t(L.uh) * L.uw)), rem = int(u0 % (size_t(L.uh) * L.uw)), oh = rem / L.uw, ow = rem % L.uw;
  const size_t pw = size_t(L.sw) * L.C, ph = size_t(L.sh) * L.W * L.C;
  for (size_t u = u0; u < u1; u++) {
    if (L.pool) {
      const uint8_t* at = x + ((size_t(n) * L.H + size_t(2 * oh) * L.sh) * L.W + size_t(2 * ow) * L.sw) * L.C;
      *out++ = at, *out++ = at + pw, *out++ = at + ph, *out++ = at + ph + pw;
    } else
      *out++ = x + ((size_t(n) * L.H + size_t(oh) * L.sh) * L.W + size_t(ow) * L.sw) * L.C;
    if (++ow == L.uw) {
      ow = 0;
      if (++oh == L.uh) oh = 0, n++;
    }
  }
}

struct Writer {
  const Epilogue& ep;
  const int32_t* corr;     // per channel, zero padded to whole blocks
  const int32_t* negMask;  // −1 where the channel pools by its minimum, per channel, padded
  int cout;

  // Writes unit u's channels [c0, c0 + 8) (those below cout) from the corrected sums s.
  void put(__m256i s, size_t u, int c0) const {
    const int nc = std::min(8, cout - c0);
    if (ep.emode == 0 && ep.vector.usable) {
      const uint64_t b = ep.vector.bytes(s, c0 / 8);
      uint8_t* o = ep.out8.data + u * cout + c0;
      const uint8_t* src = reinterpret_cast<const uint8_t*>(&b);
      // Fixed-size moves (a library call per pixel costs more than the epilogue): two overlapping
      // 4-byte ones for 4..8 channels, never past this pixel's channels.
      if (nc == 8) std::memcpy(o, src, 8);
      else if (nc >= 4) {
        std::memcpy(o, src, 4);
        std::memcpy(o + nc - 4, src + nc - 4, 4);
      } else
        for (int c = 0; c < nc; c++) o[c] = src[c];
      return;
    }
    alignas(32) int32_t v[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(v), s);
    for (int c = 0; c < nc; c++) ep.scalar(v[c], c0 + c, u, cout);
  }

  __m256i corrected(__m256i acc, int c0) const {
    return _mm256_sub_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + c0)));
  }

  // The pooled sums of four conv pixels: the max, or the min where the multiplier is negative.
  __m256i pooled(__m256i a, __m256i b, __m256i c, __m256i d, int c0) const {
    const __m256i hi = _mm256_max_epi32(_mm256_max_epi32(a, b), _mm256_max_epi32(c, d));
    const __m256i lo = _mm256_min_epi32(_mm256_min_epi32(a, b), _mm256_min_epi32(c, d));
    return _mm256_blendv_epi8(hi, lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(negMask + c0)));
  }
};

// Units [u0, u1) × the channel vectors of blocks (v0 .. v0+V−1) in tiles of R pixels (R / 4 pool
// windows with POOL).
template <int ISA, int R, int V, bool POOL>
void sweep(const Layer& L, const uint8_t* const* org, size_t u0, size_t u1, const int8_t* const* w, int c0, const Writer& out) {
  constexpr int per = POOL ? 4 : 1;  // pixels per unit
  constexpr int tu = R / per;        // units per tile
  static_assert(R % per == 0, "a pooled tile holds whole windows");
  const int gpr = L.spanp / 4;
  __m256i acc[R][V];
  for (size_t u = u0; u < u1; u += tu) {
    const int live = int(std::min<size_t>(tu, u1 - u));
    const uint8_t* a[R];
    // Tile rows past the range repeat its last unit (their outputs are not written).
    for (int r = 0; r < R; r++) a[r] = org[(u - u0 + std::min(r / per, live - 1)) * per + r % per];
    tile<ISA, R, V>(a, L.kh, gpr, L.rs, L.steps, w, acc);
    for (int t = 0; t < live; t++)
      for (int v = 0; v < V; v++) {
        const int c = c0 + 8 * v;
        if (c >= L.cout) continue;
        __m256i s;
        if constexpr (POOL) s = out.pooled(acc[4 * t][v], acc[4 * t + 1][v], acc[4 * t + 2][v], acc[4 * t + 3][v], c);
        else s = acc[t][v];
        out.put(out.corrected(s, c), u + t, c);
      }
  }
}

// The tiles: 12 sums in registers with VNNI (vpdpbusd's latency needs that many chains in flight),
// 8 on AVX2 (whose int16 sums take registers too); pooled tiles hold whole pool windows (4 pixels).
template <int ISA>
constexpr int tileRows(int V, bool pool) {
  if (ISA == AVX2) return V == 1 ? 8 : 4;
  if (V == 3) return 4;
  if (V == 2) return pool ? 4 : 6;
  return 12;
}

// Vectors of 8 channels per tile: three with VNNI (2 on AVX2) when the layer has them.
template <int ISA>
constexpr int maxVectors() {
  return ISA == AVX2 ? 2 : 3;
}

template <int ISA>
void sweepBlocks(const Layer& L, const uint8_t* const* org, size_t u0, size_t u1, const int8_t* const* w, int nv, int c0,
                 const Writer& out) {
  if (nv == 3) {
    if constexpr (maxVectors<ISA>() >= 3) sweep<ISA, tileRows<ISA>(3, true), 3, true>(L, org, u0, u1, w, c0, out);
  } else if (nv == 2) {
    if (L.pool) sweep<ISA, tileRows<ISA>(2, true), 2, true>(L, org, u0, u1, w, c0, out);
    else sweep<ISA, tileRows<ISA>(2, false), 2, false>(L, org, u0, u1, w, c0, out);
  } else if (L.pool) sweep<ISA, tileRows<ISA>(1, true), 1, true>(L, org, u0, u1, w, c0, out);
  else sweep<ISA, tileRows<ISA>(1, false), 1, false>(L, org, u0, u1, w, c0, out);
}

// Bytes of the array buffer after a typed array argument (0 for none).
size_t slackAfter(const Napi::CallbackInfo& info, size_t i) {
  auto ta = info[i].As<Napi::TypedArray>();
  return ta.ArrayBuffer().ByteLength() - ta.ByteOffset() - ta.ByteLength();
}

}  // namespace

// qconvDirect(x u8, geo i32[14] (as qconv's), meta i32[6] = {spanp, N, bits, pool, pad, steps}, Wp u8,
//             lut i8[16]|null, corr i32[N]|null, emode, ...the epilogue's arguments (epilogue.h)):
// a conv/dense layer with no horizontal dilation; acc as qconv's, `pad` the byte of padded positions.
// Wp holds ceil(N/8) blocks of kh·spanp/4 groups, each 8 channels × 4 entries (channel j at bytes
// 4j..4j+3) at `bits` per entry (see expandStream). With pool, the output pixels are those of the
// 2×2, stride-2 max pool of the conv's output (grid epilogues only). steps: groups summed in int16
// by the AVX2 dot product (steps·2·maxByte·maxLevel ≤ 32767, at least 1); the caller asks intIsa().
static Napi::Value QconvDirect(const Napi::CallbackInfo& info) {
  const ConvInputs args(info, 6, "qconvDirect");
  const auto &x = args.x, &Wp = args.wp;
  const auto &meta = args.meta, &corr = args.corr;
  const auto& lutArg = args.lut;
  const int* d = args.geo.data;
  const int dh = d[8], padT = d[10], padL = d[11], pad = meta.data[4];
  Layer L{};
  L.N = d[0], L.H = d[1], L.W = d[2], L.C = d[3], L.kh = d[4], L.kw = d[5], L.sh = d[6], L.sw = d[7], L.outH = d[12], L.outW = d[13];
  L.spanp = meta.data[0], L.cout = meta.data[1], L.bits = meta.data[2], L.pool = meta.data[3], L.steps = meta.data[5];
  const int span = L.kw * L.C;
  if (L.N < 1 || L.H < 1 || L.W < 1 || L.C < 1 || L.kh < 1 || L.kw < 1 || L.sh < 1 || L.sw < 1 || dh < 1 || d[9] != 1 || padT < 0 ||
      padL < 0 || L.outH < 1 || L.outW < 1)
    fail("qconvDirect: the geometry must be positive, with no horizontal dilation");
  if (L.spanp % 4 || L.spanp < span || L.spanp >= span + 4 || L.cout < 1 || (L.bits != 8 && L.bits != 4 && L.bits != 2) ||
      (L.pool != 0 && L.pool != 1) || pad < 0 || pad > 255 || L.steps < 1)
    fail("qconvDirect: meta must be {spanp, cout, bits 2|4|8, pool 0|1, pad byte, steps ≥ 1} with spanp the window row rounded up to 4");
  L.uh = L.pool ? L.outH / 2 : L.outH, L.uw = L.pool ? L.outW / 2 : L.outW;
  L.units = size_t(L.N) * L.uh * L.uw;
  const int groups = L.kh * L.spanp / 4, nb = (L.cout + 7) / 8;
  const size_t blockBytes = size_t(groups) * 32 * L.bits / 8;
  if (x.length != size_t(L.N) * L.H * L.W * L.C || Wp.length != size_t(nb) * blockBytes || (L.bits < 8 && lutArg.length != 16) ||
      (corr.data && corr.length != size_t(L.cout)))
    fail("qconvDirect: array lengths do not match");
  const Epilogue ep(info, 6, L.cout, L.units, "qconvDirect");
  if (L.pool && ep.emode != 0) fail("qconvDirect: a fused pool needs a grid epilogue");
  if (L.units == 0) return info.Env().Undefined();  // a pool over a conv output of one row or column
  const int isa = activeIsa;

  // The rows and columns the windows cover, from (−padT, −padL): where they reach outside the image,
  // the conv runs as a valid one on a copy with a border of pad bytes (and 4 bytes of slack).
  const size_t needH = size_t(L.outH - 1) * L.sh + size_t(L.kh - 1) * dh + 1, needW = size_t(L.outW - 1) * L.sw + L.kw;
  std::vector<uint8_t> copy;
  const uint8_t* in = x.data;
  if (padT || padL || needH > size_t(L.H) || needW > size_t(L.W)) {
    const size_t Hp = std::max(needH, size_t(padT) + L.H), Wp2 = std::max(needW, size_t(padL) + L.W);
    const size_t rowIn = size_t(L.W) * L.C, rowOut = Wp2 * L.C, plane = Hp * rowOut;
    copy.assign(size_t(L.N) * plane + 4, uint8_t(pad));
#pragma omp parallel for num_threads(threads()) schedule(static) if (copy.size() > (size_t(1) << 18))
    for (int n = 0; n < L.N; n++)
      for (int h = 0; h < L.H; h++)
        std::memcpy(copy.data() + n * plane + (size_t(padT) + h) * rowOut + size_t(padL) * L.C, x.data + (size_t(n) * L.H + h) * rowIn, rowIn);
    L.H = int(Hp), L.W = int(Wp2);
    in = copy.data();
  } else if (size_t(L.spanp - span) > slackAfter(info, 0)) {
    // Reads reach spanp − span bytes past a window row: the input is copied when its buffer ends sooner.
    copy.assign(x.data, x.data + x.length);
    copy.resize(x.length + 4, 0);
    in = copy.data();
  }
  L.rs = size_t(dh) * L.W * L.C;
  std::vector<int32_t> corrv(size_t(nb) * 8 + 8, 0), negMask(size_t(nb) * 8 + 8, 0);
  if (corr.data) std::copy(corr.data, corr.data + L.cout, corrv.begin());
  if (L.pool)
    for (int c = 0; c < L.cout; c++) negMask[c] = ep.Mraw[c] < 0 ? -1 : 0;
  const Writer out{ep, corrv.data(), negMask.data(), L.cout};

  // Weights as s8 levels: in place at 8 bits, else expanded once per call (all blocks).
  std::vector<int8_t> expanded;
  const int8_t* wl = reinterpret_cast<const int8_t*>(Wp.data);
  if (L.bits < 8) {
    alignas(16) int8_t lut16[16];
    std::memcpy(lut16, lutArg.data, 16);
    const __m256i lut = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(lut16)));
    expanded.resize(size_t(nb) * groups * 32);
    for (int b = 0; b < nb; b++) expandStream(Wp.data + size_t(b) * blockBytes, groups, L.bits, lut, expanded.data() + size_t(b) * groups * 32);
    wl = expanded.data();
  }
  // Blocks of 8 channels swept V at a time (the last group may have fewer).
  const int V = isa == AVX2 ? std::min(nb, 2) : std::min(nb, L.pool && nb >= 3 ? 3 : 2);
  const int vgroups = (nb + V - 1) / V;
  const size_t macs = L.units * (L.pool ? 4 : 1) * size_t(L.kh) * span * L.cout;
  const int nt = macs > (size_t(1) << 18) ? threads() : 1;
  // Chunks of units small enough to give every thread several, each a whole number of tiles (24
  // units hold whole tiles of every shape: 1, 2 or 3 pooled units, 4, 6, 8 or 12 pixels).
  const size_t chunk = std::max<size_t>(24, std::min<size_t>(120, (L.units / (size_t(nt) * 8)) / 24 * 24));
  const size_t chunks = (L.units + chunk - 1) / chunk;
  const int split = chunks >= size_t(nt) * 4 ? 1 : int(std::min<size_t>(vgroups, (size_t(nt) * 4 + chunks - 1) / chunks));
  const int perSplit = (vgroups + split - 1) / split;
  const size_t items = chunks * split;
#pragma omp parallel num_threads(nt)
  {
    std::vector<const uint8_t*> org(chunk * 4);
    size_t have = SIZE_MAX;
#pragma omp for schedule(dynamic, 1)
    for (size_t item = 0; item < items; item++) {
      const size_t c = item / split;
      const size_t u0 = c * chunk, u1 = std::min(L.units, u0 + chunk);
      if (have != c) origins(L, in, u0, u1, org.data()), have = c;
      const int g0 = int(item % split) * perSplit, g1 = std::min(vgroups, g0 + perSplit);
      for (int gi = g0; gi < g1; gi++) {
        const int b = gi * V, nv = std::min(V, nb - b);
        const int8_t* w[3];
        for (int v = 0; v < 3; v++) w[v] = wl + size_t(b + std::min(v, nv - 1)) * groups * 32;
        if (isa == AVX512_VNNI) sweepBlocks<AVX512_VNNI>(L, org.data(), u0, u1, w, nv, 8 * b, out);
        else if (isa == AVX_VNNI) sweepBlocks<AVX_VNNI>(L, org.data(), u0, u1, w, nv, 8 * b, out);
        else sweepBlocks<AVX2>(L, org.data(), u0, u1, w, nv, 8 * b, out);
      }
    }
  }
  return info.Env().Undefined();
}

// intIsa(): the dot product qconvDirect uses ('avx512vnni', 'avxvnni' or 'avx2'); intIsa(name)
// chooses a lower one (tests run every path this CPU has) and fails for one the CPU lacks.
static Napi::Value IntIsa(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsString()) {
    const std::string want = info[0].As<Napi::String>();
    int level = -1;
    for (int i = 0; i < 3; i++)
      if (want == isaNames[i]) level = i;
    if (level < 0) fail("intIsa: unknown instruction set '" + want + "'; expected avx2, avxvnni or avx512vnni");
    if (!hasIsa(level)) fail("intIsa: this CPU has no " + want + " (its best is " + isaNames[bestIsa] + ")");
    activeIsa = level;
  }
  return Napi::String::New(info.Env(), isaNames[activeIsa]);
}

void registerDirectConv(Napi::Env env, Napi::Object exports) {
  exports.Set("qconvDirect", Napi::Function::New(env, QconvDirect));
  exports.Set("intIsa", Napi::Function::New(env, IntIsa));
}
LOWBIT_REGISTER(registerDirectConv);

}  // namespace lowbit

// Numeric helpers shared by the formats: float32 rounding half to even (as ONNX QuantizeLinear),
// channel bookkeeping along the last axis, and range statistics for calibration.

const f32 = Math.fround;

/** Round half to even (banker's rounding), like C's nearbyint and ONNX QuantizeLinear. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** x / s in float32 arithmetic (the native kernels compute the same). */
export function divF32(x: number, s: number): number {
  return f32(f32(x) / f32(s));
}

const bitsView = new DataView(new ArrayBuffer(4));

/** floor(log2 u) of a positive float32 value, exactly (C's ilogb): read from its exponent bits. */
export function floorLog2(u: number): number {
  if (!(u >= 1.1754943508222875e-38)) return Math.floor(Math.log2(u)); // denormals: never reached by the formats
  bitsView.setFloat32(0, u);
  return ((bitsView.getUint32(0) >>> 23) & 0xff) - 127;
}

/** Number of channels: the size of the last axis for per-channel formats, else 1. */
export function channelCount(shape: readonly number[], perChannel: boolean): number {
  if (!perChannel) return 1;
  if (shape.length === 0) throw new Error('per-channel quantization needs a tensor with at least one axis');
  return shape[shape.length - 1];
}

/** Applies f(value, channel) over a channel-last tensor. */
export function mapChannels(
  x: ArrayLike<number>,
  channels: number,
  f: (v: number, c: number) => number,
  out: Float32Array | Int32Array,
): void {
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], channels === 1 ? 0 : i % channels);
}

export interface ChannelStats {
  min: Float64Array;
  max: Float64Array;
  maxAbs: Float64Array;
  meanAbs: Float64Array;
  count: number;
}

/** A faster implementation of channelStats (the native engine installs one); null = TypeScript. */
let statsAccelerator: ((x: Float32Array, channels: number) => ChannelStats) | null = null;

export function setStatsAccelerator(f: ((x: Float32Array, channels: number) => ChannelStats) | null): void {
  statsAccelerator = f;
}

export function channelStats(x: ArrayLike<number>, channels: number): ChannelStats {
  if (statsAccelerator && x instanceof Float32Array && x.length > 0) return statsAccelerator(x, channels);
  return channelStatsTs(x, channels);
}

export function channelStatsTs(x: ArrayLike<number>, channels: number): ChannelStats {
  const min = new Float64Array(channels).fill(Infinity),
    max = new Float64Array(channels).fill(-Infinity);
  const maxAbs = new Float64Array(channels),
    sumAbs = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const c = channels === 1 ? 0 : i % channels;
    const v = x[i];
    if (v < min[c]) min[c] = v;
    if (v > max[c]) max[c] = v;
    const a = Math.abs(v);
    if (a > maxAbs[c]) maxAbs[c] = a;
    sumAbs[c] += a;
  }
  const count = x.length / channels;
  const meanAbs = sumAbs.map((s) => s / Math.max(count, 1));
  for (let c = 0; c < channels; c++) if (!Number.isFinite(min[c])) ((min[c] = 0), (max[c] = 0));
  return { min, max, maxAbs, meanAbs, count };
}

/**
 * A deterministic pseudo-random sample of k values of v (all of v if k >= its length).
 * Not strided: a stride shares factors with the channel count of channel-last data and would
 * sample only a few channels.
 */
export function sampleValues(v: ArrayLike<number>, k: number, seed = 0x9e3779b9): Float64Array {
  if (v.length <= k) return Float64Array.from(v);
  const out = new Float64Array(k);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < k; i++) {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = v[s % v.length];
  }
  return out;
}

/** Values of one channel (copy). */
export function channelValues(x: ArrayLike<number>, channels: number, c: number): Float64Array {
  const n = x.length / channels;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i * channels + c];
  return out;
}

/** The p-th percentile (0..100) of |v|, by sorting. */
export function percentileAbs(v: Float64Array, p: number): number {
  if (v.length === 0) return 0;
  const a = Float64Array.from(v, Math.abs).sort();
  const pos = (p / 100) * (a.length - 1);
  const lo = Math.floor(pos),
    hi = Math.min(a.length - 1, lo + 1);
  return a[lo] + (a[hi] - a[lo]) * (pos - lo);
}

/**
 * A usable float32 scale: data with a zero (or denormal-sized) range gets scale 1, so that
 * everything quantizes to zero instead of dividing by a scale that rounds to 0 in float32.
 */
export function safeScale(s: number): number {
  const f = f32(s);
  return Number.isFinite(f) && f >= 1e-30 ? f : 1;
}

/** Index of the level nearest to v in ascending `levels` (ties to the even index). */
export function nearestIndex(levels: Float64Array, v: number): number {
  let lo = 0,
    hi = levels.length - 1;
  if (v <= levels[0]) return 0;
  if (v >= levels[hi]) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (levels[mid] <= v) lo = mid;
    else hi = mid;
  }
  const dl = v - levels[lo],
    dh = levels[hi] - v;
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return lo % 2 === 0 ? lo : hi;
}

export { f32 };

/** First index of ascending `a` whose value is >= x (a.length if none). */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0,
    hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A sample sorted once, with prefix sums of v and v², so that the squared error of rounding
 * every value to its nearest level costs O(L log n) per candidate grid instead of O(n log L):
 * the scale searches of po2 and dybit score dozens of grids against the same values. Each
 * level's cell runs between the midpoints to its neighbours; a value on a midpoint costs the
 * same on either side, so ties need no rule here.
 */
export class SortedSample {
  private readonly v: Float64Array;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;

  constructor(values: ArrayLike<number>) {
    this.v = Float64Array.from(values).sort();
    const n = this.v.length;
    this.s1 = new Float64Array(n + 1);
    this.s2 = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const x = this.v[i];
      this.s1[i + 1] = this.s1[i] + x;
      this.s2[i + 1] = this.s2[i] + x * x;
    }
  }

  get length(): number {
    return this.v.length;
  }

  /** Σ (v − nearest level)² over the sample; `levels` ascending. */
  squaredError(levels: Float64Array): number {
    const L = levels.length;
    let e = 0,
      from = 0;
    for (let i = 0; i < L; i++) {
      const to = i === L - 1 ? this.v.length : lowerBound(this.v, (levels[i] + levels[i + 1]) / 2);
      if (to > from) {
        const l = levels[i];
        const n = to - from,
          s1 = this.s1[to] - this.s1[from],
          s2 = this.s2[to] - this.s2[from];
        // Σ(v − l)² expanded; clamped because cancellation can leave a tiny negative.
        e += Math.max(0, s2 - 2 * l * s1 + n * l * l);
      }
      from = Math.max(from, to);
    }
    return e;
  }
}

// `esb` (elastic significant bits, Gong et al.): b bits (sign included), k significant bits,
// e = min(4, max(1, b-k-1)) exponent bits. Magnitudes in units of α: for e >= 2,
// n = clip(floor(log2 u), 0, N), N = floor(2^e - 1.5), step 2^(n-k), u rounded to the step and
// clipped to 2^(N+1) - 2^(N-k); for e < 2 a mid-rise uniform grid (i + 1/2), i < 2^(b-1).
// α = λ(b,k)·std(W), λ minimizing the expected squared error of a standard normal
// (the "distribution difference aligner"), found numerically and memoised per (b, k).
import * as z from 'zod/mini';
import { channelCount, divF32, f32, floorLog2, roundHalfEven } from './numeric.js';
import type { FormatDef } from './types.js';
import { granularity } from './uniform.js';
import { specs } from './examples.js';

export function esbExponentBits(bits: number, k: number): number {
  return Math.min(4, Math.max(1, bits - k - 1));
}

/** Ascending magnitudes in units of α. */
export function esbMagnitudes(bits: number, k: number): Float64Array {
  const e = esbExponentBits(bits, k);
  const out: number[] = [];
  if (e < 2) {
    for (let i = 0; i < 2 ** (bits - 1); i++) out.push(i + 0.5);
    return Float64Array.from(out);
  }
  const N = Math.floor(2 ** e - 1.5);
  for (let j = 0; j < 2 ** (k + 1); j++) out.push(j * 2 ** -k);
  for (let n = 1; n <= N; n++) for (let j = 0; j < 2 ** k; j++) out.push(2 ** n + j * 2 ** (n - k));
  return Float64Array.from(out);
}

export const esbSchema = z
  .strictObject({
    format: z.literal('esb'),
    bits: z.int().check(z.minimum(2), z.maximum(8)),
    /** Significant bits k (mantissa bits after the leading one). */
    k: z.int().check(z.minimum(0), z.maximum(7)),
    granularity: z._default(granularity, 'tensor'),
  })
  .check(
    z.refine((s) => s.k <= s.bits - 2, { message: 'k must be at most bits - 2 (one bit is the sign)', path: ['k'] }),
    z.refine((s) => s.k > s.bits - 2 || esbMagnitudes(s.bits, s.k).length <= 2 ** (s.bits - 1), {
      message: 'this (bits, k) has more magnitudes than bits - 1 can index',
      path: ['k'],
    }),
  );

export type EsbSpec = z.output<typeof esbSchema>;
export interface EsbParams {
  alpha: number[];
}

/** Magnitude index of u = |x|/α (units of α), following the SPEC.md §2 procedure. */
function magnitudeIndex(u: number, bits: number, k: number, mags: Float64Array): number {
  const e = esbExponentBits(bits, k);
  if (e < 2) return Math.min(Math.floor(u), mags.length - 1);
  const N = Math.floor(2 ** e - 1.5);
  const n = u > 0 ? Math.min(N, Math.max(0, floorLog2(u))) : 0;
  const step = 2 ** (n - k);
  const q = Math.min(roundHalfEven(u / step) * step, mags[mags.length - 1]);
  // q is one of the magnitudes; find it (exact in binary floating point).
  let lo = 0,
    hi = mags.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (mags[mid] < q) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const lambdaCache = new Map<string, number>();

/** λ(b, k): the α (for unit variance) minimizing E[(X - Q(X))²], X ~ N(0, 1). */
export function esbLambda(bits: number, k: number): number {
  const key = `${bits},${k}`;
  const hit = lambdaCache.get(key);
  if (hit !== undefined) return hit;
  const mags = esbMagnitudes(bits, k);
  const xs: number[] = [],
    ws: number[] = [];
  for (let x = 0.0005; x < 8; x += 0.001) {
    xs.push(x);
    ws.push((Math.exp(-0.5 * x * x) * 0.001 * 2) / Math.sqrt(2 * Math.PI));
  }
  const err = (a: number) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) {
      const d = xs[i] - a * mags[magnitudeIndex(xs[i] / a, bits, k, mags)];
      s += ws[i] * d * d;
    }
    return s;
  };
  // Coarse scan, then golden-section refinement around the best point.
  let best = 0.01,
    bestErr = Infinity;
  for (let a = 0.01; a < 4; a *= 1.05) {
    const e = err(a);
    if (e < bestErr) ((best = a), (bestErr = e));
  }
  let lo = best / 1.05,
    hi = best * 1.05;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 40; i++) {
    const a = hi - g * (hi - lo),
      b = lo + g * (hi - lo);
    if (err(a) < err(b)) hi = b;
    else lo = a;
  }
  const lambda = (lo + hi) / 2;
  lambdaCache.set(key, lambda);
  return lambda;
}

export const esbFormat: FormatDef<EsbSpec, EsbParams> = {
  name: 'esb',
  schema: esbSchema,
  summary: 'elastic significant bits: k mantissa bits with a small exponent (ESB)',
  examples: specs('esb', [
    { bits: 4, k: 1 },
    { bits: 3, k: 0 },
    { bits: 5, k: 2, granularity: 'channel' },
    { bits: 4, k: 2 },
    { bits: 6, k: 1 },
  ]),
  gradientRule: 'straight-through inside [-α·max, α·max], zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const C = channelCount(shape, spec.granularity === 'channel');
    const sum = new Float64Array(C),
      sq = new Float64Array(C),
      n = new Float64Array(C);
    for (let i = 0; i < x.length; i++) {
      const c = C === 1 ? 0 : i % C;
      sum[c] += x[i];
      sq[c] += x[i] * x[i];
      n[c]++;
    }
    const lambda = esbLambda(spec.bits, spec.k);
    return {
      alpha: Array.from(sum, (s, c) => {
        const std = Math.sqrt(Math.max(sq[c] / n[c] - (s / n[c]) ** 2, 0));
        return std > 0 ? f32(lambda * std) : 1;
      }),
    };
  },
  encode(x, shape, spec, p) {
    const C = channelCount(shape, p.alpha.length > 1);
    const mags = esbMagnitudes(spec.bits, spec.k);
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const idx = magnitudeIndex(divF32(Math.abs(x[i]), p.alpha[C === 1 ? 0 : i % C]), spec.bits, spec.k, mags);
      out[i] = x[i] < 0 && mags[idx] > 0 ? -idx - 1 : idx;
    }
    return out;
  },
  decode(codes, shape, spec, p) {
    const C = channelCount(shape, p.alpha.length > 1);
    const mags = esbMagnitudes(spec.bits, spec.k);
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const a = p.alpha[C === 1 ? 0 : i % C];
      const c = codes[i];
      out[i] = c >= 0 ? f32(mags[c] * a) : -f32(mags[-c - 1] * a);
    }
    return out;
  },
  channels: (p) => p.alpha.length,
  levels(spec, p, c) {
    const m = Array.from(esbMagnitudes(spec.bits, spec.k), (v) => f32(v * p.alpha[c]));
    return Float64Array.from(new Set([...m.map((v) => -v).reverse(), ...m].map((v) => v + 0)));
  },
  codeRange: (spec) => [-(2 ** (spec.bits - 1)), 2 ** (spec.bits - 1) - 1],
  passes(v, spec, p, c) {
    const m = esbMagnitudes(spec.bits, spec.k);
    return Math.abs(v) <= f32(m[m.length - 1] * p.alpha[c]);
  },
  plan: (spec, p) => ({ kind: 'esb', alpha: Float32Array.from(p.alpha), bits: spec.bits, k: spec.k }),
  storage: (spec) => ({ kind: 'fixed', bitsPerValue: spec.bits }),
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: spec.k + 1, decoder: 'shift', extraPassForFlagged: false }),
};

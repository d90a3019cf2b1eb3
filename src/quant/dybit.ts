// `dybit` (our reading of DyBit, SPEC.md §2; the paper's exact bit layout is not public):
// a sign bit (weights only) and n magnitude bits. The magnitude field starts with a unary
// prefix of k ones (k <= kmax) ended by a zero unless k = kmax; the remaining r bits are a
// mantissa m. Region 0 is [0, 1) with step 2^-r; region k >= 1 is [2^(k-1), 2^k) with step
// 2^(k-1)/2^r: value = B_k + W_k·m/2^r (B_0 = 0, W_0 = 1, B_k = W_k = 2^(k-1)), times the scale.
// kmax = 0 is plain uniform; larger kmax trades precision near zero for range. The field read
// as an integer grows with its value, so codes sort like values. Scale and kmax are fitted per
// tensor (or channel) by minimising the squared error.
import * as z from 'zod/mini';
import { channelCount, channelStats, channelValues, f32, nearestIndex, safeScale, sampleValues, SortedSample } from './numeric.js';
import type { FormatDef } from './types.js';
import { granularity } from './uniform.js';
import { specs } from './examples.js';

export const dybitSchema = z
  .strictObject({
    format: z.literal('dybit'),
    bits: z.int().check(z.minimum(1), z.maximum(8)),
    signed: z._default(z.boolean(), true),
    /** Fixed kmax, or 'auto' to fit it (0..n) with the scale. */
    kmax: z._default(z.union([z.int().check(z.minimum(0), z.maximum(8)), z.literal('auto')]), 'auto'),
    granularity: z._default(granularity, 'tensor'),
  })
  .check(
    z.refine((s) => !(s.signed && s.bits < 2), { message: 'signed dybit needs bits >= 2 (sign + magnitude)', path: ['bits'] }),
    z.refine((s) => s.kmax === 'auto' || s.kmax <= dybitFieldBits(s), {
      message: 'kmax must be at most the magnitude bits n',
      path: ['kmax'],
    }),
  );

export type DybitSpec = z.output<typeof dybitSchema>;
export interface DybitParams {
  scale: number[];
  kmax: number[];
}

/** n: the magnitude field width. */
export function dybitFieldBits(s: { bits: number; signed: boolean }): number {
  return s.signed ? s.bits - 1 : s.bits;
}

/** Decodes an n-bit magnitude field: its value in units of the scale, and its mantissa width r. */
export function dybitField(f: number, n: number, kmax: number): { value: number; r: number; k: number } {
  let k = 0;
  while (k < kmax && (f >> (n - 1 - k)) & 1) k++;
  const r = k < kmax ? n - k - 1 : n - kmax;
  const m = f & ((1 << r) - 1);
  const value = k === 0 ? m / 2 ** r : 2 ** (k - 1) * (1 + m / 2 ** r);
  return { value, r, k };
}

const tables = new Map<string, Float64Array>();

/** Values of all 2^n fields, ascending (index = field). */
export function dybitMagnitudes(n: number, kmax: number): Float64Array {
  const key = `${n},${kmax}`;
  let t = tables.get(key);
  if (!t) {
    t = new Float64Array(2 ** n);
    for (let f = 0; f < t.length; f++) t[f] = dybitField(f, n, kmax).value;
    tables.set(key, t);
  }
  return t;
}

function scaledTable(n: number, kmax: number, s: number): Float64Array {
  return dybitMagnitudes(n, kmax).map((v) => f32(v * s));
}

/** At most this many values are used to search scale and kmax (a seeded random sample). */
const FIT_SAMPLE = 16384;

/**
 * The magnitudes the fit rounds (|x|, or max(x, 0) unsigned) sorted for SortedSample, and the
 * error no grid can remove (unsigned: the negatives, which all become 0).
 */
function fitSample(v: Float64Array, signed: boolean): { sample: SortedSample; floor: number } {
  let floor = 0;
  const a = v.map((x) => {
    if (signed) return Math.abs(x);
    if (x < 0) floor += x * x;
    return Math.max(x, 0);
  });
  return { sample: new SortedSample(a), floor };
}

export const dybitFormat: FormatDef<DybitSpec, DybitParams> = {
  name: 'dybit',
  schema: dybitSchema,
  summary: 'variable-length fields: unary region prefix + mantissa, range and precision fitted (DyBit)',
  examples: [
    ...specs('dybit', [{ bits: 4 }, { bits: 3, kmax: 0 }, { bits: 4, kmax: 3, granularity: 'channel' }]),
    ...specs('dybit', [
      { bits: 4, signed: false },
      { bits: 6, kmax: 2 },
    ]),
  ],
  gradientRule: 'straight-through inside [-max, max] (unsigned: [0, max]), zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const C = channelCount(shape, spec.granularity === 'channel');
    const n = dybitFieldBits(spec);
    const st = channelStats(x, C);
    const kmaxes = spec.kmax === 'auto' ? Array.from({ length: n + 1 }, (_, i) => i) : [spec.kmax];
    const scale: number[] = [],
      kmax: number[] = [];
    for (let c = 0; c < C; c++) {
      const { sample, floor } = fitSample(sampleValues(channelValues(x, C, c), FIT_SAMPLE), spec.signed);
      const top = spec.signed ? st.maxAbs[c] : Math.max(st.max[c], 0);
      let best = { s: 1, k: kmaxes[0], e: Infinity };
      for (const k of kmaxes) {
        const maxLevel = dybitMagnitudes(n, k)[2 ** n - 1];
        // Scales that put the largest level between 30% and 100% of the largest value.
        for (let i = 0; i <= 40; i++) {
          const s = safeScale((top * (1 - (0.7 * i) / 40)) / maxLevel);
          const e = floor + sample.squaredError(scaledTable(n, k, s));
          if (e < best.e) best = { s, k, e };
        }
      }
      scale.push(best.s);
      kmax.push(best.k);
    }
    return { scale, kmax };
  },
  encode(x, shape, spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const n = dybitFieldBits(spec);
    const tabs = p.scale.map((s, c) => scaledTable(n, p.kmax[c], s));
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const t = tabs[C === 1 ? 0 : i % C];
      const v = x[i];
      if (!spec.signed) out[i] = v > 0 ? nearestIndex(t, v) : 0;
      else {
        const f = nearestIndex(t, Math.abs(v));
        out[i] = v < 0 && f > 0 ? -f - 1 : f;
      }
    }
    return out;
  },
  decode(codes, shape, spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const n = dybitFieldBits(spec);
    const tabs = p.scale.map((s, c) => scaledTable(n, p.kmax[c], s));
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const t = tabs[C === 1 ? 0 : i % C];
      const c = codes[i];
      out[i] = c >= 0 ? t[c] : -t[-c - 1];
    }
    return out;
  },
  channels: (p) => p.scale.length,
  levels(spec, p, c) {
    const t = Array.from(scaledTable(dybitFieldBits(spec), p.kmax[c], p.scale[c]));
    return Float64Array.from(
      spec.signed
        ? [
            ...t
              .slice(1)
              .reverse()
              .map((v) => -v),
            ...t,
          ]
        : t,
    );
  },
  codeRange: (spec) => (spec.signed ? [-(2 ** (spec.bits - 1)), 2 ** (spec.bits - 1) - 1] : [0, 2 ** spec.bits - 1]),
  passes(v, spec, p, c) {
    const n = dybitFieldBits(spec);
    const top = f32(dybitMagnitudes(n, p.kmax[c])[2 ** n - 1] * p.scale[c]);
    return spec.signed ? Math.abs(v) <= top : v >= 0 && v <= top;
  },
  plan: (spec, p) => {
    const n = dybitFieldBits(spec);
    const L = 2 ** n;
    const tables = new Float32Array(p.scale.length * L);
    p.scale.forEach((s, c) => tables.set(scaledTable(n, p.kmax[c], s), c * L));
    return { kind: 'table', tables, length: L, signed: spec.signed };
  },
  storage: (spec) => ({ kind: 'fixed', bitsPerValue: spec.bits }),
  // Shift by the region exponent, then an (r+1)-bit mantissa multiply; r + 1 <= n.
  // The scale and kmax search costs tens of ms per layer: refit every 50 steps.
  training: { refitEvery: () => 50 },
  activationFamily: 'dybit',
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: dybitFieldBits(spec), decoder: 'dybit', extraPassForFlagged: false }),
};

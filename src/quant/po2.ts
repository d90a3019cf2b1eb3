// `po2`: powers of two {0, ±s·2^-(L-1), ..., ±s·2^-1, ±s} with L = 2^(b-1) - 1 nonzero
// magnitudes: a sign bit and b-1 bits of exponent index (index 0 is zero). The scale s is the
// largest magnitude, fitted by max-abs or an MSE search. Values round to the nearest level
// (ties to the even code), so multiplication becomes a shift in hardware.
import * as z from 'zod/mini';
import { channelCount, channelStats, channelValues, f32, nearestIndex, safeScale, SortedSample } from './numeric.js';
import type { FormatDef } from './types.js';
import { granularity } from './uniform.js';
import { specs } from './examples.js';

export const po2Schema = z.strictObject({
  format: z.literal('po2'),
  bits: z.int().check(z.minimum(2), z.maximum(8)),
  granularity: z._default(granularity, 'tensor'),
  calibration: z._default(z.enum(['maxabs', 'mse']), 'mse'),
});

export type Po2Spec = z.output<typeof po2Schema>;
export interface Po2Params {
  scale: number[];
}

/** Magnitudes for code index 0..L: 0, s·2^-(L-1), ..., s. */
function magnitudes(bits: number, s: number): Float64Array {
  const L = 2 ** (bits - 1) - 1;
  const m = new Float64Array(L + 1);
  for (let k = 1; k <= L; k++) m[k] = f32(s * 2 ** (k - L));
  return m;
}

function encodeValue(v: number, mags: Float64Array): number {
  const k = nearestIndex(mags, Math.abs(v));
  return v < 0 ? -k : k;
}

export const po2Format: FormatDef<Po2Spec, Po2Params> = {
  name: 'po2',
  schema: po2Schema,
  summary: 'zero and signed powers of two below a fitted scale',
  examples: specs('po2', [{ bits: 2 }, { bits: 3 }, { bits: 4, granularity: 'channel' }, { bits: 5, calibration: 'maxabs' }]),
  gradientRule: 'straight-through inside [-s, s], zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const C = channelCount(shape, spec.granularity === 'channel');
    const st = channelStats(x, C);
    const scale: number[] = [];
    for (let c = 0; c < C; c++) {
      let best = safeScale(st.maxAbs[c]);
      if (spec.calibration === 'mse') {
        const v = new SortedSample(channelValues(x, C, c).map(Math.abs));
        let bestErr = v.squaredError(magnitudes(spec.bits, best));
        // Search the scale between half and all of max|x| (a power-of-two grid repeats every factor 2).
        for (let i = 1; i < 64; i++) {
          const s = safeScale(st.maxAbs[c] * 2 ** (-i / 64));
          const e = v.squaredError(magnitudes(spec.bits, s));
          if (e < bestErr) ((best = s), (bestErr = e));
        }
      }
      scale.push(best);
    }
    return { scale };
  },
  encode(x, shape, spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const mags = p.scale.map((s) => magnitudes(spec.bits, s));
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = encodeValue(x[i], mags[C === 1 ? 0 : i % C]);
    return out;
  },
  decode(codes, shape, spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const mags = p.scale.map((s) => magnitudes(spec.bits, s));
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const m = mags[C === 1 ? 0 : i % C][Math.abs(codes[i])];
      out[i] = codes[i] < 0 ? -m : m;
    }
    return out;
  },
  channels: (p) => p.scale.length,
  levels(spec, p, c) {
    const m = magnitudes(spec.bits, p.scale[c]);
    return Float64Array.from([
      ...Array.from(m.subarray(1))
        .reverse()
        .map((v) => -v),
      ...m,
    ]);
  },
  codeRange: (spec) => [-(2 ** (spec.bits - 1) - 1), 2 ** (spec.bits - 1) - 1],
  passes: (v, _spec, p, c) => Math.abs(v) <= p.scale[c],
  plan: (spec, p) => {
    const L = 2 ** (spec.bits - 1);
    const tables = new Float32Array(p.scale.length * L);
    p.scale.forEach((s, c) => tables.set(magnitudes(spec.bits, s), c * L));
    return { kind: 'table', tables, length: L, signed: true };
  },
  storage: (spec) => ({ kind: 'fixed', bitsPerValue: spec.bits }),
  // An MSE fit searches candidate scales (tens of ms per layer): refit every 50 steps, not every step.
  training: { refitEvery: (spec) => (spec.calibration === 'maxabs' ? 1 : 50) },
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: 1, decoder: 'shift', extraPassForFlagged: false }),
};

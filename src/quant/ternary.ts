// `ternary` (TWN, Li et al. 2016): threshold Δ = 0.7·mean|W| over the whole tensor; codes
// +1 (w > Δ), -1 (w < -Δ), 0 otherwise; α per output channel = mean |w| over |w| > Δ in that
// channel (0 if none). Stored in two bits.
import * as z from 'zod/mini';
import { channelCount, f32 } from './numeric.js';
import type { FormatDef } from './types.js';
import { granularity } from './uniform.js';
import { specs } from './examples.js';

export const ternarySchema = z.strictObject({
  format: z.literal('ternary'),
  bits: z._default(z.literal(2), 2),
  granularity: z._default(granularity, 'channel'),
  /** Δ = thresholdFactor · mean|W| (0.7 in TWN). */
  thresholdFactor: z._default(z.number().check(z.gt(0), z.lt(2)), 0.7),
});

export type TernarySpec = z.output<typeof ternarySchema>;
export interface TernaryParams {
  threshold: number;
  scale: number[];
}

export const ternaryFormat: FormatDef<TernarySpec, TernaryParams> = {
  name: 'ternary',
  schema: ternarySchema,
  summary: 'three levels {-α, 0, +α}, threshold 0.7·mean|W| (TWN)',
  examples: specs('ternary', [{}, { granularity: 'tensor' }]),
  gradientRule: 'identity straight-through everywhere (TWN)',
  roundsToNearest: false,
  fit(x, shape, spec) {
    let sumAbs = 0;
    for (const v of x) sumAbs += Math.abs(v);
    const threshold = f32((spec.thresholdFactor * sumAbs) / Math.max(x.length, 1));
    const C = channelCount(shape, spec.granularity === 'channel');
    const s = new Float64Array(C),
      n = new Float64Array(C);
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      if (a > threshold) {
        const c = C === 1 ? 0 : i % C;
        s[c] += a;
        n[c]++;
      }
    }
    return { threshold, scale: Array.from(s, (v, c) => (n[c] > 0 ? f32(v / n[c]) : 0)) };
  },
  encode(x, _shape, _spec, p) {
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] > p.threshold ? 1 : x[i] < -p.threshold ? -1 : 0;
    return out;
  },
  decode(codes, shape, _spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = f32(codes[i] * p.scale[C === 1 ? 0 : i % C]);
    return out;
  },
  channels: (p) => p.scale.length,
  levels: (_s, p, c) => (p.scale[c] > 0 ? Float64Array.from([-p.scale[c], 0, p.scale[c]].map(f32)) : Float64Array.from([0])),
  codeRange: () => [-1, 1],
  passes: () => true,
  plan: (_spec, p) => ({ kind: 'ternary', scale: Float32Array.from(p.scale), threshold: p.threshold }),
  storage: () => ({ kind: 'fixed', bitsPerValue: 2 }),
  hardware: () => ({ operandBits: 2, multiplierBits: 2, decoder: 'none', extraPassForFlagged: false }),
};

// `binary` (BWN, Rastegari et al. 2016): sign(w)·α with α = mean|W| per output channel
// (or per tensor). sign(0) = +1. Code 0 (negative) or 1 (positive), stored in one bit.
import * as z from 'zod/mini';
import { channelCount, channelStats, f32, safeScale } from './numeric.js';
import type { FormatDef } from './types.js';
import { granularity } from './uniform.js';
import { specs } from './examples.js';

export const binarySchema = z.strictObject({
  format: z.literal('binary'),
  bits: z._default(z.literal(1), 1),
  granularity: z._default(granularity, 'channel'),
});

export type BinarySpec = z.output<typeof binarySchema>;
export interface ScaleParams {
  scale: number[];
}

export const binaryFormat: FormatDef<BinarySpec, ScaleParams> = {
  name: 'binary',
  schema: binarySchema,
  summary: 'sign times the mean absolute value of the channel (BWN)',
  examples: specs('binary', [{}, { granularity: 'tensor' }]),
  gradientRule: 'straight-through where |x| <= 1 (hard-tanh STE of BinaryConnect / XNOR-Net), zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const st = channelStats(x, channelCount(shape, spec.granularity === 'channel'));
    return { scale: Array.from(st.meanAbs, safeScale) };
  },
  encode(x, shape, _spec, p) {
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] >= 0 ? 1 : 0;
    return out;
  },
  decode(codes, shape, _spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = f32((2 * codes[i] - 1) * p.scale[C === 1 ? 0 : i % C]);
    return out;
  },
  channels: (p) => p.scale.length,
  levels: (_s, p, c) => Float64Array.from([-p.scale[c], p.scale[c]].map(f32)),
  codeRange: () => [0, 1],
  passes: (v) => Math.abs(v) <= 1,
  plan: (_spec, p) => ({ kind: 'binary', scale: Float32Array.from(p.scale) }),
  storage: () => ({ kind: 'fixed', bitsPerValue: 1 }),
  hardware: () => ({ operandBits: 1, multiplierBits: 1, decoder: 'none', extraPassForFlagged: false }),
};

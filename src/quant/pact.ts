// `pact` (Choi et al. 2018): activations clipped to [0, α] with a learned α, then uniform
// unsigned b bits with step α/(2^b - 1). α is fitted from data (max or a percentile) to start.
import * as z from 'zod/mini';
import { channelStats, channelValues, f32, percentileAbs, safeScale } from './numeric.js';
import type { FormatDef } from './types.js';
import { decodeUniform, dequantize, encodeUniform, uniformLevels, type UniformParams } from './uniform.js';
import { specs } from './examples.js';

export const pactSchema = z.strictObject({
  format: z.literal('pact'),
  bits: z.int().check(z.minimum(1), z.maximum(8)),
  calibration: z._default(z.enum(['max', 'percentile']), 'percentile'),
  percentile: z._default(z.number().check(z.gt(50), z.lte(100)), 99.9),
});

export type PactSpec = z.output<typeof pactSchema>;
export interface PactParams extends UniformParams {
  alpha: number[];
}

export function pactParams(alpha: number, bits: number): PactParams {
  const a = safeScale(alpha);
  return { alpha: [a], scale: [f32(a / (2 ** bits - 1))], zeroPoint: [0] };
}

export const pactFormat: FormatDef<PactSpec, PactParams> = {
  name: 'pact',
  schema: pactSchema,
  summary: 'activations clipped to a learned α, then uniform unsigned (PACT)',
  examples: specs('pact', [{ bits: 2 }, { bits: 4, calibration: 'max' }, { bits: 8 }]),
  gradientRule: 'x: straight-through where 0 <= x <= α, zero outside; α: 1 where x > α, else 0',
  roundsToNearest: true,
  fit(x, _shape, spec) {
    const st = channelStats(x, 1);
    const pos = Float64Array.from(channelValues(x, 1, 0).filter((v) => v > 0));
    const alpha = spec.calibration === 'max' ? st.max[0] : percentileAbs(pos, spec.percentile);
    return pactParams(alpha, spec.bits);
  },
  encode: (x, shape, spec, p) => encodeUniform(x, [x.length], p, 0, 2 ** spec.bits - 1),
  decode: (codes, _shape, _spec, p) => decodeUniform(codes, [codes.length], p),
  channels: (p) => p.alpha.length,
  levels: (spec, p) => uniformLevels(p.scale[0], 0, 0, 2 ** spec.bits - 1),
  codeRange: (spec) => [0, 2 ** spec.bits - 1],
  passes: (v, spec, p) => v >= 0 && v <= dequantize(2 ** spec.bits - 1, p.scale[0], 0),
  plan: (spec, p) => ({
    kind: 'uniform',
    scale: Float32Array.from(p.scale),
    zeroPoint: new Float32Array(1),
    qmin: 0,
    qmax: 2 ** spec.bits - 1,
  }),
  storage: (spec) => ({ kind: 'fixed', bitsPerValue: spec.bits }),
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: spec.bits, decoder: 'none', extraPassForFlagged: false }),
  training: {
    learned: { kind: 'clip', shape: () => [1], values: (p) => p.alpha, params: (v, spec) => pactParams(v[0], spec.bits) },
  },
  // Clipped to [0, α]: activations after a ReLU.
  signed: () => false,
};

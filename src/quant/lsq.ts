// `lsq` (Esser et al. 2020): uniform grid with a learned step size s. Signed (weights):
// codes [-2^(b-1), 2^(b-1)-1]; unsigned (activations): [0, 2^b-1]. Initial s = 2·mean|x|/√Qp;
// during training s is a variable whose gradient is scaled by 1/√(N·Qp).
import * as z from 'zod/mini';
import { channelCount, channelStats, safeScale } from './numeric.js';
import type { FormatDef } from './types.js';
import { decodeUniform, dequantize, encodeUniform, granularity, uniformLevels, type UniformParams } from './uniform.js';
import { specs } from './examples.js';

export const lsqSchema = z
  .strictObject({
    format: z.literal('lsq'),
    bits: z.int().check(z.minimum(1), z.maximum(8)),
    signed: z._default(z.boolean(), true),
    granularity: z._default(granularity, 'tensor'),
  })
  .check(z.refine((s) => !(s.signed && s.bits < 2), { message: 'signed lsq needs bits >= 2', path: ['bits'] }));

export type LsqSpec = z.output<typeof lsqSchema>;

/** [-Qn, Qp] of LSQ. */
export function lsqRange(s: Pick<LsqSpec, 'bits' | 'signed'>): [number, number] {
  return s.signed ? [-(2 ** (s.bits - 1)), 2 ** (s.bits - 1) - 1] : [0, 2 ** s.bits - 1];
}

/** LSQ's gradient scale for the step size: 1/√(N·Qp), N = number of values sharing a step. */
export function lsqGradScale(spec: LsqSpec, valuesPerStep: number): number {
  return 1 / Math.sqrt(valuesPerStep * lsqRange(spec)[1]);
}

export const lsqFormat: FormatDef<LsqSpec, UniformParams> = {
  name: 'lsq',
  schema: lsqSchema,
  summary: 'uniform grid with a learned step size (LSQ)',
  examples: specs('lsq', [{ bits: 2 }, { bits: 4, granularity: 'channel' }, { bits: 3, signed: false }, { bits: 8 }]),
  gradientRule: 'x: straight-through inside [-Qn·s, Qp·s], zero outside; s: round(x/s) - x/s inside, -Qn or Qp outside, times 1/√(N·Qp)',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const st = channelStats(x, channelCount(shape, spec.granularity === 'channel'));
    const qp = lsqRange(spec)[1];
    return { scale: Array.from(st.meanAbs, (m) => safeScale((2 * m) / Math.sqrt(qp))), zeroPoint: Array.from(st.meanAbs, () => 0) };
  },
  encode: (x, shape, spec, p) => encodeUniform(x, shape, p, ...lsqRange(spec)),
  decode: (codes, shape, _spec, p) => decodeUniform(codes, shape, p),
  channels: (p) => p.scale.length,
  levels: (spec, p, c) => uniformLevels(p.scale[c], 0, ...lsqRange(spec)),
  codeRange: (spec) => lsqRange(spec),
  passes(v, spec, p, c) {
    const [qn, qp] = lsqRange(spec);
    return v >= dequantize(qn, p.scale[c], 0) && v <= dequantize(qp, p.scale[c], 0);
  },
  plan: (spec, p) => ({
    kind: 'uniform',
    scale: Float32Array.from(p.scale),
    zeroPoint: new Float32Array(p.scale.length),
    qmin: lsqRange(spec)[0],
    qmax: lsqRange(spec)[1],
  }),
  storage: (spec) => ({ kind: 'fixed', bitsPerValue: spec.bits }),
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: spec.bits, decoder: 'none', extraPassForFlagged: false }),
  training: {
    learned: {
      kind: 'step',
      shape: (spec, channels) => (spec.granularity === 'channel' ? [channels] : [1]),
      values: (p) => p.scale,
      // A step trained to zero or below would divide by zero: the smallest step stands in for it.
      params: (v) => {
        const scale = v.map((x) => Math.fround(Math.max(x, 1e-12)));
        return { scale, zeroPoint: scale.map(() => 0) };
      },
    },
  },
};

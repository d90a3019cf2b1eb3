// `int`: uniform integers, 1-8 bits. Signed symmetric uses the narrow range ±(2^(b-1)-1) with
// zero point 0; unsigned symmetric (post-ReLU activations) [0, 2^b-1]; asymmetric adds a zero
// point. Per tensor or per output channel; scale from max-abs, a percentile, or an MSE search
// over clipping ratios. Rounding half to even and saturation, exactly as ONNX QuantizeLinear.
import { z } from 'zod';
import { channelCount, channelStats, channelValues, percentileAbs, safeScale } from './numeric.js';
import type { FormatDef } from './types.js';
import { decodeUniform, dequantize, encodeUniform, granularity, uniformLevels, uniformMse, type UniformParams } from './uniform.js';

export const intSchema = z
  .object({
    format: z.literal('int'),
    bits: z.number().int().min(1).max(8),
    signed: z.boolean().default(true),
    symmetric: z.boolean().default(true),
    granularity: granularity.default('tensor'),
    calibration: z.enum(['maxabs', 'percentile', 'mse']).default('maxabs'),
    /** Percentile of |x| (or of x for asymmetric ranges) used by calibration 'percentile'. */
    percentile: z.number().gt(50).max(100).default(99.99),
  })
  .strict()
  .refine((s) => !(s.signed && s.symmetric && s.bits < 2), {
    message: 'signed symmetric int needs bits >= 2 (1 bit leaves only zero); use the binary format',
    path: ['bits'],
  });

export type IntSpec = z.output<typeof intSchema>;

export function intRange(s: Pick<IntSpec, 'bits' | 'signed' | 'symmetric'>): [number, number] {
  if (s.signed && s.symmetric) return [-(2 ** (s.bits - 1) - 1), 2 ** (s.bits - 1) - 1];
  if (s.signed) return [-(2 ** (s.bits - 1)), 2 ** (s.bits - 1) - 1];
  return [0, 2 ** s.bits - 1];
}

/** Scale and zero point that map [lo, hi] (widened to include 0) onto the code range. */
function gridFor(lo: number, hi: number, spec: IntSpec): { s: number; zp: number } {
  const [qmin, qmax] = intRange(spec);
  if (spec.symmetric) {
    const m = spec.signed ? Math.max(Math.abs(lo), Math.abs(hi)) : Math.max(hi, 0);
    return { s: safeScale(m / qmax), zp: 0 };
  }
  const l = Math.min(lo, 0),
    h = Math.max(hi, 0);
  const s = safeScale((h - l) / (qmax - qmin));
  const zp = Math.min(qmax, Math.max(qmin, Math.round(qmin - l / s)));
  return { s, zp };
}

function fitChannel(v: Float64Array, lo: number, hi: number, spec: IntSpec): { s: number; zp: number } {
  if (spec.calibration === 'maxabs') return gridFor(lo, hi, spec);
  if (spec.calibration === 'percentile') {
    const neg = Float64Array.from(v.filter((x) => x < 0));
    const pos = Float64Array.from(v.filter((x) => x > 0));
    return gridFor(-percentileAbs(neg, spec.percentile), percentileAbs(pos, spec.percentile), spec);
  }
  // MSE: try clipping ratios of the full range and keep the best grid.
  const [qmin, qmax] = intRange(spec);
  let best = gridFor(lo, hi, spec),
    bestErr = uniformMse(v, best.s, best.zp, qmin, qmax);
  for (let i = 1; i < 100; i++) {
    const t = 1 - i / 125;
    const g = gridFor(lo * t, hi * t, spec);
    const e = uniformMse(v, g.s, g.zp, qmin, qmax);
    if (e < bestErr) ((best = g), (bestErr = e));
  }
  return best;
}

export const intFormat: FormatDef<IntSpec, UniformParams> = {
  name: 'int',
  schema: intSchema,
  summary: 'uniform integers, symmetric or with a zero point, per tensor or per channel',
  gradientRule: 'straight-through inside the representable range [(qmin-zp)s, (qmax-zp)s], zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const C = channelCount(shape, spec.granularity === 'channel');
    const st = channelStats(x, C);
    const scale: number[] = [],
      zeroPoint: number[] = [];
    for (let c = 0; c < C; c++) {
      const v = spec.calibration === 'maxabs' ? new Float64Array(0) : channelValues(x, C, c);
      const g = fitChannel(v, st.min[c], st.max[c], spec);
      scale.push(g.s);
      zeroPoint.push(g.zp);
    }
    return { scale, zeroPoint };
  },
  encode: (x, shape, spec, p) => encodeUniform(x, shape, p, ...intRange(spec)),
  decode: (codes, shape, _spec, p) => decodeUniform(codes, shape, p),
  channels: (p) => p.scale.length,
  levels: (spec, p, c) => uniformLevels(p.scale[c], p.zeroPoint[c], ...intRange(spec)),
  codeRange: (spec) => intRange(spec),
  passes(v, spec, p, c) {
    const [qmin, qmax] = intRange(spec);
    return v >= dequantize(qmin, p.scale[c], p.zeroPoint[c]) && v <= dequantize(qmax, p.scale[c], p.zeroPoint[c]);
  },
  plan: (spec, p) => ({
    kind: 'uniform',
    scale: Float32Array.from(p.scale),
    zeroPoint: Float32Array.from(p.zeroPoint),
    qmin: intRange(spec)[0],
    qmax: intRange(spec)[1],
  }),
  storage: (spec) => ({ kind: 'fixed', bitsPerValue: spec.bits }),
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: spec.bits, decoder: 'none', extraPassForFlagged: false }),
};

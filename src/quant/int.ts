// `int`: uniform integers, 1-8 bits. Signed symmetric uses the narrow range ±(2^(b-1)-1) with
// zero point 0; unsigned symmetric (post-ReLU activations) [0, 2^b-1]; asymmetric adds a zero
// point. Per tensor or per output channel; scale from max-abs, a percentile, or an MSE search
// over clipping ratios. Rounding half to even and saturation, exactly as ONNX QuantizeLinear.
import * as z from 'zod/mini';
import { channelCount, channelStats, channelValues, percentileAbs, safeScale } from './numeric.js';
import type { FormatDef } from './types.js';
import {
  decodeUniform,
  dequantize,
  encodeUniform,
  granularity,
  uniformLevels,
  uniformMseCandidates,
  type UniformParams,
} from './uniform.js';
import { specs } from './examples.js';

export const intSchema = z
  .strictObject({
    format: z.literal('int'),
    bits: z.int().check(z.minimum(1), z.maximum(8)),
    signed: z._default(z.boolean(), true),
    symmetric: z._default(z.boolean(), true),
    granularity: z._default(granularity, 'tensor'),
    calibration: z._default(z.enum(['maxabs', 'percentile', 'mse']), 'maxabs'),
    /** Percentile of |x| (or of x for asymmetric ranges) used by calibration 'percentile'. */
    percentile: z._default(z.number().check(z.gt(50), z.lte(100)), 99.99),
  })
  .check(
    z.refine((s) => !(s.signed && s.symmetric && s.bits < 2), {
      message: 'signed symmetric int needs bits >= 2 (1 bit leaves only zero); use the binary format',
      path: ['bits'],
    }),
  );

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

function fitPercentile(v: Float64Array, spec: IntSpec): { s: number; zp: number } {
  const neg = Float64Array.from(v.filter((x) => x < 0));
  const pos = Float64Array.from(v.filter((x) => x > 0));
  return gridFor(-percentileAbs(neg, spec.percentile), percentileAbs(pos, spec.percentile), spec);
}

/** The clipping ratios of the MSE search, the full range first (it wins ties). */
const MSE_RATIOS = [1, ...Array.from({ length: 99 }, (_, i) => 1 - (i + 1) / 125)];

/** MSE calibration: per channel, the grid of the clipped range with the smallest error (every channel's candidates in one pass). */
function fitMse(x: Float32Array, C: number, min: Float64Array, max: Float64Array, spec: IntSpec): { s: number; zp: number }[] {
  const K = MSE_RATIOS.length;
  const grids = Array.from({ length: C }, (_, c) => MSE_RATIOS.map((t) => gridFor(min[c] * t, max[c] * t, spec)));
  const err = uniformMseCandidates(
    x,
    C,
    { scale: Float64Array.from(grids.flat(), (g) => g.s), zeroPoint: Float64Array.from(grids.flat(), (g) => g.zp) },
    intRange(spec),
  );
  return grids.map((gs, c) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (err[c * K + k] < err[c * K + best]) best = k;
    return gs[best];
  });
}

export const intFormat: FormatDef<IntSpec, UniformParams> = {
  name: 'int',
  schema: intSchema,
  summary: 'uniform integers, symmetric or with a zero point, per tensor or per channel',
  examples: [
    ...specs('int', [{ bits: 2 }, { bits: 3 }, { bits: 4 }, { bits: 8 }, { bits: 4, granularity: 'channel' }, { bits: 3, signed: false }]),
    ...specs('int', [
      { bits: 4, symmetric: false, signed: false },
      { bits: 5, symmetric: false, signed: true, granularity: 'channel' },
    ]),
    ...specs('int', [
      { bits: 4, calibration: 'percentile', percentile: 99 },
      { bits: 3, calibration: 'mse', granularity: 'channel' },
    ]),
    ...specs('int', [{ bits: 1, signed: false }]),
  ],
  gradientRule: 'straight-through inside the representable range [(qmin-zp)s, (qmax-zp)s], zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const C = channelCount(shape, spec.granularity === 'channel');
    const st = channelStats(x, C);
    const grids =
      spec.calibration === 'mse'
        ? fitMse(x, C, st.min, st.max, spec)
        : Array.from({ length: C }, (_, c) =>
            spec.calibration === 'percentile' ? fitPercentile(channelValues(x, C, c), spec) : gridFor(st.min[c], st.max[c], spec),
          );
    return { scale: grids.map((g) => g.s), zeroPoint: grids.map((g) => g.zp) };
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
  training: {
    // MSE and percentile fits search candidate scales (tens of ms per layer); max-abs is one pass and follows the range.
    refitEvery: (spec) => (spec.calibration === 'maxabs' ? 1 : 50),
    rangeCalibrated: (spec) => spec.calibration === 'maxabs',
  },
};

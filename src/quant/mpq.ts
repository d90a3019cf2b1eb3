// `mpq` (Kim et al., our reading, SPEC.md §2): base uniform b bits with step Δ (signed, narrow
// range ±(2^(b-1)-1)·Δ); a per-weight flag gives a flagged weight the (b+1)-bit grid (step Δ/2,
// same range), the "extra quantization level". Codes are on the fine grid (value = code·Δ/2):
// unflagged weights have even codes. Storage: b bits per weight, one extra bit per flagged
// weight, and the flag index (bitmap or sparse list, whichever is smaller) kept apart.
import * as z from 'zod/mini';
import { channelCount, channelStats, divF32, f32, roundHalfEven, safeScale } from './numeric.js';
import type { FormatDef } from './types.js';
import { granularity } from './uniform.js';
import { intFormat, intSchema } from './int.js';
import { specs } from './examples.js';

export const mpqSchema = z.strictObject({
  format: z.literal('mpq'),
  /** Base bits b (flagged weights get b + 1). */
  bits: z.int().check(z.minimum(2), z.maximum(7)),
  granularity: z._default(granularity, 'tensor'),
  /** Base step from the max-abs (no clipping) or an MSE search over clipping ratios, as `int`. */
  calibration: z._default(z.enum(['maxabs', 'mse']), 'maxabs'),
});

export type MpqSpec = z.output<typeof mpqSchema>;
export interface MpqParams {
  /** Base step Δ per channel. */
  scale: number[];
  /** One byte per weight, 1 = flagged (extra bit); absent = none flagged. Not JSON: packed apart. */
  flags?: Uint8Array;
}

function baseMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Fine-grid code of v: unflagged rounds on the base grid (even codes), flagged on the half-step grid. */
export function mpqCode(v: number, delta: number, bits: number, flagged: boolean): number {
  const M = baseMax(bits);
  if (flagged) {
    const j = roundHalfEven(divF32(v, f32(delta / 2)));
    return Math.max(-2 * M, Math.min(2 * M, j));
  }
  const k = roundHalfEven(divF32(v, delta));
  return 2 * Math.max(-M, Math.min(M, k));
}

/** Bits of the header of a Rice-coded flag index: flagged count (32) and the Rice parameter k (5). */
const RICE_HEADER_BITS = 37;

/**
 * The flag index of an MPQ tensor, the cheaper of a bitmap (one bit per weight) and a sparse
 * list of the flagged positions as Rice-coded gaps (gap g costs ⌊g/2^k⌋ + 1 + k bits with the
 * best k in 0..31, plus the header). The packer writes exactly this.
 */
export function mpqFlagIndex(flags: Uint8Array): { kind: 'bitmap' | 'rice'; bits: number; k: number; flagged: number } {
  const n = flags.length;
  const gaps: number[] = [];
  let prev = -1;
  for (let i = 0; i < n; i++)
    if (flags[i]) {
      gaps.push(i - prev - 1);
      prev = i;
    }
  let best = Infinity,
    bestK = 0;
  for (let k = 0; k < 32; k++) {
    let bits = RICE_HEADER_BITS;
    for (const g of gaps) bits += Math.floor(g / 2 ** k) + 1 + k;
    if (bits < best) ((best = bits), (bestK = k));
  }
  return best < n ? { kind: 'rice', bits: best, k: bestK, flagged: gaps.length } : { kind: 'bitmap', bits: n, k: 0, flagged: gaps.length };
}

/** Stored bits of an MPQ tensor: base bits per weight, one extra bit per flagged weight, and the flag index (SPEC.md §2). */
export function mpqStoredBits(bits: number, flags: Uint8Array): number {
  const ix = mpqFlagIndex(flags);
  return bits * flags.length + ix.flagged + ix.bits;
}

/** Average stored bits per weight, extra bits and flag index included. */
export function mpqBitsPerWeight(bits: number, flags: Uint8Array): number {
  return flags.length === 0 ? 0 : mpqStoredBits(bits, flags) / flags.length;
}

export const mpqFormat: FormatDef<MpqSpec, MpqParams> = {
  name: 'mpq',
  schema: mpqSchema,
  summary: 'base b-bit uniform grid, with flagged weights on the (b+1)-bit grid (MPQ)',
  examples: specs('mpq', [{ bits: 2 }, { bits: 3, granularity: 'channel' }, { bits: 4 }]),
  gradientRule: 'straight-through inside [-(2^(b-1)-1)·Δ, (2^(b-1)-1)·Δ], zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    if (spec.calibration === 'mse') {
      // The base grid is the signed narrow-range int grid: the same MSE search fits it.
      const p = intFormat.fit(
        x,
        shape,
        intSchema.parse({ format: 'int', bits: spec.bits, granularity: spec.granularity, calibration: 'mse' }),
      );
      return { scale: p.scale };
    }
    const st = channelStats(x, channelCount(shape, spec.granularity === 'channel'));
    return { scale: Array.from(st.maxAbs, (m) => safeScale(m / baseMax(spec.bits))) };
  },
  encode(x, shape, spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    if (p.flags && p.flags.length !== x.length) throw new Error(`mpq: ${p.flags.length} flags for ${x.length} weights`);
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = mpqCode(x[i], p.scale[C === 1 ? 0 : i % C], spec.bits, Boolean(p.flags?.[i]));
    return out;
  },
  decode(codes, shape, _spec, p) {
    const C = channelCount(shape, p.scale.length > 1);
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = f32(codes[i] * f32(p.scale[C === 1 ? 0 : i % C] / 2));
    return out;
  },
  channels: (p) => p.scale.length,
  // With flags, the whole half-step grid is representable; without, only the base grid.
  levels(spec, p, c) {
    const M = 2 * baseMax(spec.bits); // largest fine-grid code
    const half = f32(p.scale[c] / 2);
    const step = p.flags?.some((f) => f) ? 1 : 2; // code step: every fine code, or the even ones
    return Float64Array.from({ length: (2 * M) / step + 1 }, (_, i) => f32((i * step - M) * half));
  },
  codeRange: (spec) => [-2 * baseMax(spec.bits), 2 * baseMax(spec.bits)],
  passes: (v, spec, p, c) => Math.abs(v) <= f32(baseMax(spec.bits) * p.scale[c]),
  plan: (spec, p) => ({
    kind: 'uniform',
    scale: Float32Array.from(p.scale),
    zeroPoint: new Float32Array(p.scale.length),
    qmin: -baseMax(spec.bits),
    qmax: baseMax(spec.bits),
    ...(p.flags ? { flags: p.flags } : {}),
  }),
  storage: (spec) => ({ kind: 'mpq', baseBits: spec.bits }),
  // An MSE fit searches candidate scales (tens of ms per layer): refit every 50 steps, not every step.
  training: { refitEvery: (spec) => (spec.calibration === 'maxabs' ? 1 : 50) },
  hardware: (spec) => ({ operandBits: spec.bits, multiplierBits: spec.bits, decoder: 'none', extraPassForFlagged: true }),
};

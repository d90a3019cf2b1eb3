// The uniform integer grid shared by int, lsq, pact and mpq:
//   q = clamp(roundHalfEven(x / s) + zp, qmin, qmax),  value = (q - zp) * s   (ONNX Q/DQ semantics)
import * as z from 'zod/mini';
import { channelCount, channelValues, divF32, f32, roundHalfEven } from './numeric.js';

export const granularity = z.enum(['tensor', 'channel']);

export function quantizeCode(x: number, s: number, zp: number, qmin: number, qmax: number): number {
  const q = roundHalfEven(divF32(x, s)) + zp;
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

export function dequantize(q: number, s: number, zp: number): number {
  return f32((q - zp) * f32(s));
}

export interface UniformParams {
  scale: number[];
  zeroPoint: number[];
}

export function encodeUniform(x: Float32Array, shape: readonly number[], p: UniformParams, qmin: number, qmax: number): Int32Array {
  const C = channelCount(shape, p.scale.length > 1);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = C === 1 ? 0 : i % C;
    out[i] = quantizeCode(x[i], p.scale[c], p.zeroPoint[c], qmin, qmax);
  }
  return out;
}

export function decodeUniform(codes: Int32Array, shape: readonly number[], p: UniformParams): Float32Array {
  const C = channelCount(shape, p.scale.length > 1);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = C === 1 ? 0 : i % C;
    out[i] = dequantize(codes[i], p.scale[c], p.zeroPoint[c]);
  }
  return out;
}

export function uniformLevels(s: number, zp: number, qmin: number, qmax: number): Float64Array {
  const out = new Float64Array(qmax - qmin + 1);
  for (let q = qmin; q <= qmax; q++) out[q - qmin] = dequantize(q, s, zp);
  return out;
}

/** MSE of every channel of x on each of its candidate grids (the native engine installs one; see uniformMseCandidates). */
export type MseCandidatesImpl = (
  x: Float32Array,
  channels: number,
  scale: Float64Array,
  zeroPoint: Float64Array,
  qmin: number,
  qmax: number,
  out: Float64Array,
) => void;

let mseAccelerator: MseCandidatesImpl | null = null;

export function setMseAccelerator(f: MseCandidatesImpl | null): MseCandidatesImpl | null {
  const old = mseAccelerator;
  mseAccelerator = f;
  return old;
}

/**
 * uniformMse of channel c of x (channel-last) on each of its K candidate grids, for all channels:
 * scale and zeroPoint hold C·K entries, channel-major; the result likewise.
 */
export function uniformMseCandidates(
  x: Float32Array,
  channels: number,
  grids: { scale: Float64Array; zeroPoint: Float64Array },
  [qmin, qmax]: [number, number],
): Float64Array {
  const { scale, zeroPoint } = grids;
  const out = new Float64Array(scale.length);
  if (mseAccelerator && x.length > 0) {
    mseAccelerator(x, channels, scale, zeroPoint, qmin, qmax, out);
    return out;
  }
  const K = scale.length / channels;
  for (let c = 0; c < channels; c++) {
    const v = channelValues(x, channels, c);
    for (let k = 0; k < K; k++) out[c * K + k] = uniformMse(v, scale[c * K + k], zeroPoint[c * K + k], qmin, qmax);
  }
  return out;
}

/** Mean squared error of quantizing `v` on the grid (s, zp, qmin, qmax). */
export function uniformMse(v: Float64Array, s: number, zp: number, qmin: number, qmax: number): number {
  let e = 0;
  for (const x of v) {
    const d = x - dequantize(quantizeCode(x, s, zp, qmin, qmax), s, zp);
    e += d * d;
  }
  return e / Math.max(v.length, 1);
}

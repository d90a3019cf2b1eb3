// Converting runtime values between float and a quantizer's grid, shared by the layer ops' steps.
import { formatOf } from '../../quant/registry.js';
import type { IntGrid } from '../../quant/grid.js';
import { addonKernels } from '../../engine/addon-state.js';
import type { QuantInfo } from '../packed-model.js';
import { wasmKernels } from './wasm-kernels.js';
import { byteArray, dequantize, toBytes, type FValue, type QValue, type Value } from './values.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface RequantKernels {
  quantizeBytes(x: Float32Array, scale: number, zp: number, qmin: number, qmax: number, lut: Uint8Array, out: Uint8Array): void;
}
const requantKernels = addonKernels<RequantKernels>(['quantizeBytes']);

export function asFloat(v: Value): FValue {
  return v.kind === 'q' ? dequantize(v) : v;
}

/** x in a quantizer's grid (float input, or another grid's values): bytes for the native path, else codes. */
export function quantizeValue(v: Value, q: QuantInfo, grid: IntGrid, asBytes: boolean): QValue {
  const f = asFloat(v);
  const def = formatOf(q.spec);
  const plan = def.plan(q.spec as never, q.params as never);
  const addon = requantKernels() ?? wasmKernels();
  // Per-tensor uniform grids natively or in WebAssembly (the same float32 arithmetic as encode), others by the format's encode.
  if (asBytes && addon && plan.kind === 'uniform' && plan.scale.length === 1 && !plan.flags) {
    const bytes = byteArray(f.data.length);
    // The byte of every code qmin..qmax, in one call.
    const all = Int32Array.from({ length: plan.qmax - plan.qmin + 1 }, (_, i) => plan.qmin + i);
    const lut = toBytes({ kind: 'q', codes: all, bytes: null, shape: [all.length], grid });
    addon.quantizeBytes(f.data, plan.scale[0], plan.zeroPoint[0], plan.qmin, plan.qmax, lut, bytes);
    return { kind: 'q', codes: null, bytes, shape: f.shape, grid };
  }
  const codes = def.encode(f.data, f.shape, q.spec as never, q.params as never);
  const qv: QValue = { kind: 'q', codes, bytes: null, shape: f.shape, grid };
  return asBytes ? { ...qv, codes: null, bytes: toBytes(qv) } : qv;
}

export function reshape(v: Value, shape: number[]): Value {
  return { ...v, shape };
}

/** Elements of one example of a shape with its batch dimension first. */
export const perExample = (shape: number[]): number => shape.slice(1).reduce((s, d) => s * d, 1);

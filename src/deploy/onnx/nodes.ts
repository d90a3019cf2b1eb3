// Small builders of ONNX attributes and initializers, and the activation quantizer as ONNX nodes,
// shared by the layer ops' ONNX writers (layers/*.ts).
import type { QuantInfo } from '../packed-model.js';
import type { OnnxContext } from '../layers/layer-op.js';
import { intGrid } from '../../quant/grid.js';
import { AttrType, floatTensor, OnnxType, type OnnxTensor } from './tensors.js';

export const ints = (name: string, v: number[]) => ({ name, ints: v, type: AttrType.INTS });
export const int = (name: string, v: number) => ({ name, i: v, type: AttrType.INT });
export const flt = (name: string, v: number) => ({ name, f: v, type: AttrType.FLOAT });
export const str = (name: string, v: string) => ({ name, s: new TextEncoder().encode(v), type: AttrType.STRING });

export const autoPad = (padding: 'same' | 'valid') => str('auto_pad', padding === 'same' ? 'SAME_UPPER' : 'VALID');

/**
 * A conv window's padding: auto_pad, or for a dilated 'same' conv (which onnxruntime refuses with
 * auto_pad) TensorFlow's 'same' pads written out, [top, left, bottom, right].
 */
export function windowPads(g: {
  padding: 'same' | 'valid';
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  inHW: [number, number];
}) {
  if (g.padding === 'valid' || (g.dilation[0] === 1 && g.dilation[1] === 1)) return autoPad(g.padding);
  const [b, e] = [0, 1].map((i) => {
    const ek = (g.kernel[i] - 1) * g.dilation[i] + 1;
    const total = Math.max((Math.ceil(g.inHW[i] / g.strides[i]) - 1) * g.strides[i] + ek - g.inHW[i], 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
  return ints('pads', [b[0], e[0], b[1], e[1]]);
}

export function intTensor(name: string, dims: number[], values: Int32Array, four: boolean): OnnxTensor {
  if (!four) return { name, dims, dataType: OnnxType.INT8, rawData: new Uint8Array(Int8Array.from(values).buffer) };
  // INT4: two values per byte, the first in the low nibble.
  const raw = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, i) => (raw[i >> 1] |= (v & 15) << ((i & 1) * 4)));
  return { name, dims, dataType: OnnxType.INT4, rawData: raw };
}

export function int64Tensor(name: string, values: number[]): OnnxTensor {
  return { name, dims: [values.length], dataType: OnnxType.INT64, rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) };
}

/**
 * An activation quantizer on x: a Clip to the grid's range, then QuantizeLinear/DequantizeLinear
 * at 8 bits with the grid's unit (exact for every uniform grid of 1-8 bits; the Clip gives 2-, 3-
 * and 4-bit grids their own saturation). A non-uniform grid (DyBit) has no ONNX form; it is
 * written as the uniform grid of its unit (a superset of its levels), with a note.
 */
export function quantizeActivation(ctx: OnnxContext, x: string, base: string, q: QuantInfo): string {
  const g = intGrid(q.spec, q.params, 1, `layer ${base} input`);
  const lv = g.levels[0];
  const lo = lv[0],
    hi = lv[lv.length - 1];
  if (!lv.every((v, i) => i === 0 || v - lv[i - 1] === 1))
    ctx.notes.push(`${base}: ${q.spec.format} activations exported as the uniform grid of their unit (levels ${lo}..${hi})`);
  const unsigned = lo >= 0;
  if (hi - lo > 255 || (!unsigned && (lo < -128 || hi > 127)))
    throw new Error(`layer ${base}: activation levels ${lo}..${hi} do not fit 8-bit Q/DQ`);
  const u = g.unit[0];
  const s = `${base}_in_scale`,
    z = `${base}_in_zp`,
    cmin = `${base}_in_min`,
    cmax = `${base}_in_max`;
  ctx.initializers.push(floatTensor(s, [], [u]), floatTensor(cmin, [], [lo * u]), floatTensor(cmax, [], [hi * u]));
  ctx.initializers.push({ name: z, dims: [], dataType: unsigned ? OnnxType.UINT8 : OnnxType.INT8, rawData: new Uint8Array([0]) });
  const c = ctx.fresh(`${base}_clip`),
    qn = ctx.fresh(`${base}_q`),
    d = ctx.fresh(`${base}_dq`);
  ctx.nodes.push({ opType: 'Clip', input: [x, cmin, cmax], output: [c] });
  ctx.nodes.push({ opType: 'QuantizeLinear', input: [c, s, z], output: [qn] });
  ctx.nodes.push({ opType: 'DequantizeLinear', input: [qn, s, z], output: [d] });
  return d;
}

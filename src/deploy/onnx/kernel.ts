// A conv/dense kernel as ONNX weights. ONNX layouts: Conv weights [O, I, kh, kw] (from HWIO),
// MatMul weights [in, out] (as is).
//   - A format's codes are written exactly as integer levels times a per-channel unit (the
//     runtime's integer grid, quant/grid.ts): an INT4 initializer where every level fits in
//     [-8, 7] (opset 21), else INT8, followed by DequantizeLinear along the output-channel axis.
//     For uniform formats the levels are the codes; DyBit, ESB, po2, MPQ's fine grid, binary and
//     ternary are exact too, because their values are integer multiples of the unit.
//   - Product codes stay codes: the fp16 codebook gathered by the stored indices, then laid out
//     as the ONNX weight.
//   - Float kernels are float initializers.
import type { LayerEntry } from '../manifest.js';
import type { OnnxContext } from '../layers/layer-op.js';
import { intGrid } from '../../quant/grid.js';
import { floatTensor, OnnxType } from './proto.js';
import { int, int64Tensor, ints, intTensor } from './nodes.js';

/** Writes the kernel of layer l; returns the name of the ONNX tensor holding its float weights. */
export function onnxKernel(ctx: OnnxContext, l: LayerEntry, kshape: number[], conv: boolean): string {
  const p = ctx.packed;
  const cout = kshape[kshape.length - 1];
  const perm = (i: number) => {
    if (!conv) return i;
    const [kh, kw, ci] = kshape;
    const o = i % cout,
      rest = Math.floor(i / cout);
    const c = rest % ci,
      r2 = Math.floor(rest / ci);
    const j = r2 % kw,
      h = Math.floor(r2 / kw);
    return ((o * ci + c) * kh + h) * kw + j;
  };
  const dims = conv ? [cout, kshape[2], kshape[0], kshape[1]] : kshape;
  const wname = `${l.name}_w`;
  const wq = p.weightQuant.get(l.name);
  if (wq) {
    const g = intGrid(wq.spec, wq.params, cout, `layer ${l.name} weights`);
    const codes = p.codes.get(l.tensors.kernel)!;
    const levels = new Int32Array(codes.length);
    codes.forEach((q, i) => (levels[perm(i)] = g.levels[g.channels === 1 ? 0 : i % cout][q - g.codeMin]));
    // Per output channel: the level range, and a zero point that brings a wider (asymmetric) range into int8.
    const per = levels.length / cout;
    const channel = (i: number) => (conv ? Math.floor(i / per) : i % cout);
    const lo = new Int32Array(cout).fill(2 ** 30),
      hi = new Int32Array(cout).fill(-(2 ** 30));
    levels.forEach((v, i) => {
      const o = channel(i);
      lo[o] = Math.min(lo[o], v);
      hi[o] = Math.max(hi[o], v);
    });
    const four = lo.every((v) => v >= -8) && hi.every((v) => v <= 7);
    const zp = Int32Array.from(lo, (v, o) => (four || (v >= -128 && hi[o] <= 127) ? 0 : -128 - v));
    zp.forEach((z, o) => {
      if (hi[o] + z > 127 || z > 127) throw new Error(`layer ${l.name}: weight levels ${lo[o]}..${hi[o]} of channel ${o} do not fit int8`);
    });
    if (four) ctx.needOpset(21);
    const stored = Int32Array.from(levels, (v, i) => v + zp[channel(i)]);
    const units = g.channels === 1 ? Array.from({ length: cout }, () => g.unit[0]) : Array.from(g.unit);
    ctx.initializers.push(intTensor(`${wname}_q`, dims, stored, four), floatTensor(`${wname}_scale`, [cout], units));
    ctx.initializers.push(intTensor(`${wname}_zp`, [cout], zp, four));
    const out = ctx.fresh(`${wname}_dq`);
    ctx.nodes.push({
      opType: 'DequantizeLinear',
      input: [`${wname}_q`, `${wname}_scale`, `${wname}_zp`],
      output: [out],
      attribute: [int('axis', conv ? 0 : 1)],
    });
    return out;
  }
  const pc = p.productCodes.get(l.tensors.kernel);
  if (pc) {
    // conv: [O, groups, kh, kw, m] → [O, I, kh, kw]; dense: [O, I] → [I, O].
    const wide = pc.k > 256;
    const idx = wide ? Uint16Array.from(pc.assign) : Uint8Array.from(pc.assign);
    ctx.initializers.push({
      name: `${wname}_codebook`,
      dims: [pc.k, pc.d],
      dataType: OnnxType.FLOAT16,
      rawData: new Uint8Array(pc.codebookHalf.buffer),
    });
    ctx.initializers.push({
      name: `${wname}_idx`,
      dims: [pc.assign.length],
      dataType: wide ? OnnxType.UINT16 : OnnxType.UINT8,
      rawData: new Uint8Array(idx.buffer),
    });
    const i32 = ctx.fresh(`${wname}_i32`),
      g16 = ctx.fresh(`${wname}_g16`),
      g = ctx.fresh(`${wname}_g`),
      r = ctx.fresh(`${wname}_r`);
    ctx.nodes.push({ opType: 'Cast', input: [`${wname}_idx`], output: [i32], attribute: [int('to', OnnxType.INT32)] });
    ctx.nodes.push({ opType: 'Gather', input: [`${wname}_codebook`, i32], output: [g16], attribute: [int('axis', 0)] });
    ctx.nodes.push({ opType: 'Cast', input: [g16], output: [g], attribute: [int('to', OnnxType.FLOAT)] });
    const [kh, kw, ci] = conv ? kshape : [1, 1, kshape[0]];
    const blocked = conv ? [cout, ci / pc.m, kh, kw, pc.m] : [cout, ci];
    ctx.initializers.push(int64Tensor(`${wname}_shape1`, blocked));
    ctx.nodes.push({ opType: 'Reshape', input: [g, `${wname}_shape1`], output: [r] });
    const out = ctx.fresh(`${wname}_w`);
    if (conv) {
      const t = ctx.fresh(`${wname}_t`);
      ctx.nodes.push({ opType: 'Transpose', input: [r], output: [t], attribute: [ints('perm', [0, 1, 4, 2, 3])] });
      ctx.initializers.push(int64Tensor(`${wname}_shape2`, dims));
      ctx.nodes.push({ opType: 'Reshape', input: [t, `${wname}_shape2`], output: [out] });
    } else ctx.nodes.push({ opType: 'Transpose', input: [r], output: [out], attribute: [ints('perm', [1, 0])] });
    return out;
  }
  const k = p.floats.get(l.tensors.kernel)!;
  const v = new Float32Array(k.length);
  k.forEach((w, i) => (v[perm(i)] = w));
  ctx.initializers.push(floatTensor(wname, dims, v));
  return wname;
}

// ONNX export (QDQ) of a packed model. The graph runs in NCHW (a Transpose after the input and
// before each Flatten keeps tfjs's NHWC flattening order, so dense weights are used unchanged).
//
// Weights: every format is written exactly as integer levels times a per-channel unit (the
// runtime's integer grid, runtime/grid.ts) — an INT4 initializer where every level fits in
// [-8, 7] (opset 21), else INT8 — followed by DequantizeLinear along the output-channel axis.
// For uniform formats the levels are the codes; DyBit, ESB, po2, MPQ's fine grid, binary and
// ternary are exact too, because their values are integer multiples of the unit.
// Activations: a Clip to the format's range, then QuantizeLinear/DequantizeLinear at 8 bits
// with the format's scale and zero point: exact for every uniform grid of 1-8 bits (the Clip
// gives 2-, 3- and 4-bit grids their own saturation). A non-uniform activation grid (DyBit) has
// no ONNX form; it is exported as the uniform grid of its unit (a superset of its levels).
import type { LayerEntry } from '../manifest.js';
import type { PackedModel } from '../read.js';
import { intGrid } from '../../quant/grid.js';
import { AttrType, encodeModel, floatTensor, OnnxType, valueInfo, type OnnxGraph, type OnnxTensor } from './proto.js';

type Node = OnnxGraph['nodes'][number];

const ints = (name: string, v: number[]) => ({ name, ints: v, type: AttrType.INTS });
const int = (name: string, v: number) => ({ name, i: v, type: AttrType.INT });
const flt = (name: string, v: number) => ({ name, f: v, type: AttrType.FLOAT });
const str = (name: string, v: string) => ({ name, s: new TextEncoder().encode(v), type: AttrType.STRING });

function intTensor(name: string, dims: number[], values: Int32Array, four: boolean): OnnxTensor {
  if (!four) return { name, dims, dataType: OnnxType.INT8, rawData: new Uint8Array(Int8Array.from(values).buffer) };
  // INT4: two values per byte, the first in the low nibble.
  const raw = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, i) => (raw[i >> 1] |= (v & 15) << ((i & 1) * 4)));
  return { name, dims, dataType: OnnxType.INT4, rawData: raw };
}

function int64Tensor(name: string, values: number[]): OnnxTensor {
  return { name, dims: [values.length], dataType: OnnxType.INT64, rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) };
}

export interface OnnxExport {
  bytes: Uint8Array;
  opset: number;
  /** What could not be exported exactly, one line each. */
  notes: string[];
}

export function exportOnnx(p: PackedModel): OnnxExport {
  const m = p.manifest;
  const nodes: Node[] = [];
  const inits: OnnxTensor[] = [];
  const notes: string[] = [];
  let opset = 19;
  /** Output tensor name and layout of every layer. */
  const out = new Map<string, { name: string; layout: 'nchw' | 'flat' }>();
  const float = (l: LayerEntry, role: string) => p.floats.get(l.tensors[role])!;
  const shapeOf = (tn: string) => (m.tensors.find((t) => t.name === tn) as { shape: number[] }).shape;
  let uid = 0;
  const fresh = (base: string) => `${base}_${uid++}`;
  const relu = (x: string, name: string) => {
    const y = fresh(`${name}_relu`);
    nodes.push({ opType: 'Relu', input: [x], output: [y] });
    return y;
  };
  for (const l of m.layers) {
    // Configuration values as readPacked's layer check parsed them (shared with the runtime).
    const c = p.layers.get(l.name)!;
    const src = l.inbound[0] ? out.get(l.inbound[0])! : null;
    switch (l.className) {
      case 'InputLayer': {
        nodes.push({ opType: 'Transpose', input: ['input'], output: ['input_nchw'], attribute: [ints('perm', [0, 3, 1, 2])] });
        out.set(l.name, { name: 'input_nchw', layout: 'nchw' });
        break;
      }
      case 'QConv2D':
      case 'Conv2D':
      case 'QDense':
      case 'Dense': {
        const conv = l.className.endsWith('Conv2D');
        let x = src!.name;
        const iq = p.inputQuant.get(l.name);
        if (iq) {
          const g = intGrid(iq.spec, iq.params, 1, `layer ${l.name} input`);
          const lv = g.levels[0];
          const lo = lv[0],
            hi = lv[lv.length - 1];
          const uniform = lv.every((v, i) => i === 0 || v - lv[i - 1] === 1);
          if (!uniform)
            notes.push(`${l.name}: ${iq.spec.format} activations exported as the uniform grid of their unit (levels ${lo}..${hi})`);
          const unsigned = lo >= 0;
          const zp = unsigned ? 0 : 0;
          if (hi - lo > 255 || (!unsigned && (lo < -128 || hi > 127)))
            throw new Error(`layer ${l.name}: activation levels ${lo}..${hi} do not fit 8-bit Q/DQ`);
          const u = g.unit[0];
          const s = `${l.name}_in_scale`,
            z = `${l.name}_in_zp`,
            cmin = `${l.name}_in_min`,
            cmax = `${l.name}_in_max`;
          inits.push(floatTensor(s, [], [u]), floatTensor(cmin, [], [lo * u]), floatTensor(cmax, [], [hi * u]));
          inits.push({ name: z, dims: [], dataType: unsigned ? OnnxType.UINT8 : OnnxType.INT8, rawData: new Uint8Array([zp]) });
          const c = fresh(`${l.name}_clip`),
            q = fresh(`${l.name}_q`),
            d = fresh(`${l.name}_dq`);
          nodes.push({ opType: 'Clip', input: [x, cmin, cmax], output: [c] });
          nodes.push({ opType: 'QuantizeLinear', input: [c, s, z], output: [q] });
          nodes.push({ opType: 'DequantizeLinear', input: [q, s, z], output: [d] });
          x = d;
        }
        const kshape = shapeOf(l.tensors.kernel);
        const cout = kshape[kshape.length - 1];
        const wq = p.weightQuant.get(l.name);
        // ONNX layouts: Conv weights [O, I, kh, kw] (from HWIO), MatMul weights [in, out] (as is).
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
        const axis = conv ? 0 : 1;
        const wname = `${l.name}_w`;
        let wout = wname;
        if (wq) {
          const g = intGrid(wq.spec, wq.params, cout, `layer ${l.name} weights`);
          const codes = p.codes.get(l.tensors.kernel)!;
          const levels = new Int32Array(codes.length);
          codes.forEach((q, i) => (levels[perm(i)] = g.levels[g.channels === 1 ? 0 : i % cout][q - g.codeMin]));
          // Per output channel: the level range, and a zero point that brings a wider (asymmetric) range into int8.
          const per = levels.length / cout;
          const lo = new Int32Array(cout).fill(2 ** 30),
            hi = new Int32Array(cout).fill(-(2 ** 30));
          levels.forEach((v, i) => {
            const o = conv ? Math.floor(i / per) : i % cout;
            lo[o] = Math.min(lo[o], v);
            hi[o] = Math.max(hi[o], v);
          });
          const four = lo.every((v) => v >= -8) && hi.every((v) => v <= 7);
          const zp = Int32Array.from(lo, (v, o) => (four || (v >= -128 && hi[o] <= 127) ? 0 : -128 - v));
          zp.forEach((z, o) => {
            if (hi[o] + z > 127 || z > 127)
              throw new Error(`layer ${l.name}: weight levels ${lo[o]}..${hi[o]} of channel ${o} do not fit int8`);
          });
          if (four) opset = 21;
          const stored = Int32Array.from(levels, (v, i) => v + zp[conv ? Math.floor(i / per) : i % cout]);
          const units = g.channels === 1 ? Array.from({ length: cout }, () => g.unit[0]) : Array.from(g.unit);
          inits.push(intTensor(`${wname}_q`, dims, stored, four), floatTensor(`${wname}_scale`, [cout], units));
          inits.push(intTensor(`${wname}_zp`, [cout], zp, four));
          wout = fresh(`${wname}_dq`);
          nodes.push({
            opType: 'DequantizeLinear',
            input: [`${wname}_q`, `${wname}_scale`, `${wname}_zp`],
            output: [wout],
            attribute: [int('axis', axis)],
          });
        } else if (p.productCodes.has(l.tensors.kernel)) {
          // Product codes stay codes: the fp16 codebook gathered by the stored indices, then laid out
          // as the ONNX weight (conv: [O, groups, kh, kw, m] → [O, I, kh, kw]; dense: [O, I] → [I, O]).
          const pc = p.productCodes.get(l.tensors.kernel)!;
          const wide = pc.k > 256;
          const idx = wide ? Uint16Array.from(pc.assign) : Uint8Array.from(pc.assign);
          inits.push({
            name: `${wname}_codebook`,
            dims: [pc.k, pc.d],
            dataType: OnnxType.FLOAT16,
            rawData: new Uint8Array(pc.codebookHalf.buffer),
          });
          inits.push({
            name: `${wname}_idx`,
            dims: [pc.assign.length],
            dataType: wide ? OnnxType.UINT16 : OnnxType.UINT8,
            rawData: new Uint8Array(idx.buffer),
          });
          const i32 = fresh(`${wname}_i32`),
            g16 = fresh(`${wname}_g16`),
            g = fresh(`${wname}_g`),
            r = fresh(`${wname}_r`);
          nodes.push({ opType: 'Cast', input: [`${wname}_idx`], output: [i32], attribute: [int('to', OnnxType.INT32)] });
          nodes.push({ opType: 'Gather', input: [`${wname}_codebook`, i32], output: [g16], attribute: [int('axis', 0)] });
          nodes.push({ opType: 'Cast', input: [g16], output: [g], attribute: [int('to', OnnxType.FLOAT)] });
          const [kh, kw, ci] = conv ? kshape : [1, 1, kshape[0]];
          const blocked = conv ? [cout, ci / pc.m, kh, kw, pc.m] : [cout, ci];
          inits.push(int64Tensor(`${wname}_shape1`, blocked));
          nodes.push({ opType: 'Reshape', input: [g, `${wname}_shape1`], output: [r] });
          wout = fresh(`${wname}_w`);
          if (conv) {
            const t = fresh(`${wname}_t`);
            nodes.push({ opType: 'Transpose', input: [r], output: [t], attribute: [ints('perm', [0, 1, 4, 2, 3])] });
            inits.push(int64Tensor(`${wname}_shape2`, dims));
            nodes.push({ opType: 'Reshape', input: [t, `${wname}_shape2`], output: [wout] });
          } else nodes.push({ opType: 'Transpose', input: [r], output: [wout], attribute: [ints('perm', [1, 0])] });
        } else {
          const k = p.floats.get(l.tensors.kernel)!;
          const v = new Float32Array(k.length);
          k.forEach((w, i) => (v[perm(i)] = w));
          inits.push(floatTensor(wname, dims, v));
        }
        let y = fresh(l.name);
        const bias = l.tensors.bias ? float(l, 'bias') : null;
        if (conv) {
          if (bias) inits.push(floatTensor(`${l.name}_b`, [cout], bias));
          const g = c.conv!;
          nodes.push({
            opType: 'Conv',
            input: bias ? [x, wout, `${l.name}_b`] : [x, wout],
            output: [y],
            attribute: [
              str('auto_pad', g.padding === 'same' ? 'SAME_UPPER' : 'VALID'),
              ints('strides', g.strides),
              ints('dilations', g.dilation),
            ],
          });
        } else {
          nodes.push({ opType: 'MatMul', input: [x, wout], output: [y] });
          if (bias) {
            inits.push(floatTensor(`${l.name}_b`, [cout], bias));
            const yb = fresh(l.name);
            nodes.push({ opType: 'Add', input: [y, `${l.name}_b`], output: [yb] });
            y = yb;
          }
        }
        if (c.relu) y = relu(y, l.name);
        out.set(l.name, { name: y, layout: conv ? 'nchw' : 'flat' });
        break;
      }
      case 'LowbitBatchNorm': {
        const names = ['gamma', 'beta', 'movingMean', 'movingVariance'].map((r) => {
          inits.push(floatTensor(`${l.name}_${r}`, [float(l, r).length], float(l, r)));
          return `${l.name}_${r}`;
        });
        let y = fresh(l.name);
        nodes.push({
          opType: 'BatchNormalization',
          input: [src!.name, ...names],
          output: [y],
          attribute: [flt('epsilon', c.epsilon!)],
        });
        if (c.relu) y = relu(y, l.name);
        out.set(l.name, { name: y, layout: src!.layout });
        break;
      }
      case 'MaxPooling2D': {
        const y = fresh(l.name);
        const pool = c.pool!;
        nodes.push({
          opType: 'MaxPool',
          input: [src!.name],
          output: [y],
          attribute: [
            ints('kernel_shape', pool.size),
            ints('strides', pool.strides),
            str('auto_pad', pool.padding === 'same' ? 'SAME_UPPER' : 'VALID'),
          ],
        });
        out.set(l.name, { name: y, layout: 'nchw' });
        break;
      }
      case 'Flatten': {
        let x = src!.name;
        if (src!.layout === 'nchw') {
          x = fresh(`${l.name}_nhwc`);
          nodes.push({ opType: 'Transpose', input: [src!.name], output: [x], attribute: [ints('perm', [0, 2, 3, 1])] });
        }
        const y = fresh(l.name);
        nodes.push({ opType: 'Flatten', input: [x], output: [y], attribute: [int('axis', 1)] });
        out.set(l.name, { name: y, layout: 'flat' });
        break;
      }
      case 'ReLU':
      case 'Activation':
        out.set(l.name, {
          name: c.relu ? relu(src!.name, l.name) : src!.name,
          layout: src!.layout,
        });
        break;
      case 'Add': {
        const y = fresh(l.name);
        const ins = l.inbound.map((n) => out.get(n)!.name);
        nodes.push({ opType: 'Sum', input: ins, output: [y] });
        out.set(l.name, { name: y, layout: src!.layout });
        break;
      }
      case 'GlobalAveragePooling2D': {
        const g = fresh(l.name),
          y = fresh(l.name);
        nodes.push({ opType: 'GlobalAveragePool', input: [src!.name], output: [g] });
        nodes.push({ opType: 'Flatten', input: [g], output: [y], attribute: [int('axis', 1)] });
        out.set(l.name, { name: y, layout: 'flat' });
        break;
      }
      default:
        throw new Error(`ONNX export: layer ${l.name} (${l.className}) is not supported`);
    }
  }
  const last = out.get(m.outputs[0])!;
  nodes.push({ opType: 'Identity', input: [last.name], output: ['logits'] });
  const classes = p.layers.get(m.outputs[0])!.out[0];
  const bytes = encodeModel(
    {
      name: 'lowbit',
      nodes,
      initializers: inits,
      inputs: [valueInfo('input', OnnxType.FLOAT, ['N', ...m.inputShape])],
      outputs: [valueInfo('logits', OnnxType.FLOAT, ['N', classes])],
    },
    opset,
  );
  return { bytes, opset, notes };
}

// ONNX nodes that compute constants: exporters build reshape targets from Shape, Gather, Unsqueeze
// and Concat of the input's shape, which are known once the image size is. Each runs here, at import.
import type { ConstTensor, OnnxNode } from './onnx-read.js';
import type { IrBuilder, Value } from './onnx-ir.js';
import { strides } from './onnx-ir.js';

export type OpConverter = (node: OnnxNode, b: IrBuilder) => Value[];

const constant = (dims: number[], values: ArrayLike<number>, integer: boolean): Value => ({
  kind: 'const',
  t: { dims, data: integer ? Float64Array.from(values) : Float32Array.from(values), integer },
});

/** The axes an op takes as an attribute before `inputFrom` and as input 1 from it (Unsqueeze, Squeeze: 13). */
function axesOf(b: IrBuilder, inputFrom: number): number[] {
  if (b.opset < inputFrom) return b.attrInts('axes', []);
  const t = b.constant(1, true);
  return t ? Array.from(t.data) : [];
}

function normalizeAxis(axis: number, rank: number, b: IrBuilder): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) b.fail(`axis ${axis} is outside a tensor of rank ${rank}`);
  return a;
}

function gather(t: ConstTensor, idx: ConstTensor, axis: number, b: IrBuilder): Value {
  const a = normalizeAxis(axis, t.dims.length, b);
  const st = strides(t.dims);
  const outer = t.dims.slice(0, a).reduce((x, y) => x * y, 1),
    inner = st[a];
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const raw of idx.data) {
      const i = raw < 0 ? raw + t.dims[a] : raw;
      if (!(i >= 0 && i < t.dims[a])) b.fail(`index ${raw} is outside axis ${axis} of size ${t.dims[a]}`);
      for (let k = 0; k < inner; k++) out.push(t.data[o * t.dims[a] * inner + i * inner + k]);
    }
  return constant([...t.dims.slice(0, a), ...idx.dims, ...t.dims.slice(a + 1)], out, t.integer);
}

export const constOps: Record<string, OpConverter> = {
  Constant(n, b) {
    const [name, a] = [...n.attrs.entries()][0] ?? [];
    if (!a) b.fail('has no value');
    if (a.kind === 'tensor') return [{ kind: 'const', t: a.value }];
    if (name === 'value_float' && a.kind === 'float') return [constant([], [a.value], false)];
    if (name === 'value_floats' && a.kind === 'floats') return [constant([a.value.length], a.value, false)];
    if (name === 'value_int' && a.kind === 'int') return [constant([], [a.value], true)];
    if (name === 'value_ints' && a.kind === 'ints') return [constant([a.value.length], a.value, true)];
    return b.fail(`holds its value as '${name}', which lowbit does not read`);
  },
  Shape(n, b) {
    const v = b.value(n.inputs[0]);
    // A computed tensor's shape: the batch (−1 where the model leaves it open), then its ONNX dimensions.
    const dims = v.kind === 'const' ? v.t.dims : [-1, ...(v.pooled ? [...v.dims, 1, 1] : v.dims)];
    const start = b.opset >= 15 ? b.attrInt('start', 0) : 0;
    const end = b.opset >= 15 ? b.attrInt('end', dims.length) : dims.length;
    const s = start < 0 ? start + dims.length : start,
      e = end < 0 ? end + dims.length : end;
    return [constant([Math.max(0, e - s)], dims.slice(s, e), true)];
  },
  Gather: (n, b) => [gather(b.constant(0)!, b.constant(1)!, b.attrInt('axis', 0), b)],
  Unsqueeze(n, b) {
    const t = b.constant(0)!;
    const axes = axesOf(b, 13);
    const rank = t.dims.length + axes.length;
    const dims = [...t.dims];
    for (const a of axes.map((x) => normalizeAxis(x, rank, b)).sort((x, y) => x - y)) dims.splice(a, 0, 1);
    return [{ kind: 'const', t: { ...t, dims } }];
  },
  Squeeze(n, b) {
    const t = b.constant(0)!;
    const axes = axesOf(b, 13).map((x) => normalizeAxis(x, t.dims.length, b));
    const dims = t.dims.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1));
    return [{ kind: 'const', t: { ...t, dims } }];
  },
  Cast(n, b) {
    const t = b.constant(0)!;
    // TensorProto.DataType: 1 float, 10 float16, 11 double; the integer types truncate toward zero.
    const to = b.attrInt('to');
    const integer = ![1, 10, 11].includes(to);
    return [constant(t.dims, integer ? Array.from(t.data, Math.trunc) : t.data, integer)];
  },
};

/** Concat of constants (shape arithmetic); null where an input is computed (a layer's concat). */
export function constConcat(n: OnnxNode, b: IrBuilder): Value[] | null {
  const vals = n.inputs.map((x) => b.value(x));
  if (vals.some((v) => v.kind !== 'const')) return null;
  const ts = vals.map((v) => (v as Extract<Value, { kind: 'const' }>).t);
  if (ts.some((t) => t.dims.length !== 1)) b.fail('concatenates constants of more than one dimension');
  return [
    constant(
      [ts.reduce((s, t) => s + t.data.length, 0)],
      ts.flatMap((t) => Array.from(t.data)),
      ts.every((t) => t.integer),
    ),
  ];
}

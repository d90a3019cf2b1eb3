// ONNX nodes that become layers: each converter reads its node's attributes and constant inputs,
// turns NCHW weights into lowbit's NHWC layout, and emits one intermediate node (onnx-ir.ts).
import type { OnnxNode } from './onnx-read.js';
import { f32, type IrBuilder, type Padding, type Value } from './onnx-ir.js';
import { constConcat, type OpConverter } from './onnx-const-ops.js';

type Tensor = Extract<Value, { kind: 'tensor' }>;

const image = (v: Tensor, b: IrBuilder): [number, number, number] => {
  if (v.dims.length !== 3 || v.pooled) b.fail(`expects an image [channels, height, width], got [${v.dims.join(', ')}]`);
  return v.dims as [number, number, number];
};

interface Window {
  padding: Padding;
  /** Explicit zero padding before a 'valid' window, where neither 'valid' nor TensorFlow's 'same' matches the node's pads. */
  zeropad: [[number, number], [number, number]] | null;
  out: [number, number];
}

/**
 * How a window may meet its node's pads: convs take TensorFlow's 'same' or an explicit zero border;
 * max pools only 'same' (a zero border would win over negative values); average pools 'same' when
 * the padding stays out of the count (count_include_pad 0, as tfjs averages), a zero border when
 * it counts in.
 */
type PadMode = 'conv' | 'maxpool' | 'avg-exclude' | 'avg-count';

/**
 * The node's window padding in tfjs terms. ONNX pads are explicit ([top, left, bottom, right]) or
 * auto_pad; tfjs has 'valid' and TensorFlow's 'same', which puts the odd pixel at the bottom and
 * right. Pads equal to 'same' where the window reads (the same top and left, the same output size)
 * map to it; others become an explicit zero padding where the mode allows one, else the node is refused.
 */
function windowOf(
  b: IrBuilder,
  hw: [number, number],
  k: [number, number],
  s: [number, number],
  d: [number, number],
  mode: PadMode,
): Window {
  const auto = b.attrString('auto_pad', 'NOTSET');
  const ek = [0, 1].map((i) => (k[i] - 1) * d[i] + 1);
  const same = [0, 1].map((i) => {
    const total = Math.max((Math.ceil(hw[i] / s[i]) - 1) * s[i] + ek[i] - hw[i], 0);
    return { begin: Math.floor(total / 2), end: total - Math.floor(total / 2) };
  });
  let pads: number[];
  if (auto === 'NOTSET') pads = b.attrInts('pads', [0, 0, 0, 0]);
  else if (auto === 'VALID') pads = [0, 0, 0, 0];
  else if (auto === 'SAME_UPPER') pads = [same[0].begin, same[1].begin, same[0].end, same[1].end];
  else if (auto === 'SAME_LOWER') pads = [same[0].end, same[1].end, same[0].begin, same[1].begin];
  else return b.fail(`has auto_pad '${auto}'; expected NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) b.fail(`has pads [${pads.join(', ')}]; expected four sizes`);
  const ceil = b.attrInt('ceil_mode', 0) === 1;
  const out = [0, 1].map((i) => {
    const span = hw[i] + pads[i] + pads[i + 2] - ek[i];
    if (span < 0) b.fail(`has a window larger than its padded input (${hw.join('×')})`);
    const floor = Math.floor(span / s[i]) + 1;
    if (ceil && Math.ceil(span / s[i]) + 1 !== floor)
      b.fail('has ceil_mode 1 where it changes the output size; lowbit imports floor-mode windows');
    return floor;
  }) as [number, number];
  if (pads.every((p) => p === 0)) return { padding: 'valid', zeropad: null, out };
  const sameHere =
    pads[0] === same[0].begin && pads[1] === same[1].begin && out[0] === Math.ceil(hw[0] / s[0]) && out[1] === Math.ceil(hw[1] / s[1]);
  if (sameHere && mode !== 'avg-count') return { padding: 'same', zeropad: null, out };
  if (mode === 'conv' || mode === 'avg-count')
    return {
      padding: 'valid',
      zeropad: [
        [pads[0], pads[2]],
        [pads[1], pads[3]],
      ],
      out,
    };
  return b.fail(
    `has pads [${pads.join(', ')}], which neither 'valid' nor TensorFlow's 'same' padding expresses (a zero border would change the result)`,
  );
}

/** The input after an explicit zero padding where the window needs one. */
function padded(b: IrBuilder, x: Tensor, w: Window): Tensor {
  if (!w.zeropad) return x;
  const [c, h, wd] = image(x, b);
  return b.emit(
    { kind: 'zeropad', pads: w.zeropad },
    [x.ref],
    [c, h + w.zeropad[0][0] + w.zeropad[0][1], wd + w.zeropad[1][0] + w.zeropad[1][1]],
  ) as Tensor;
}

const pair = (v: number[], what: string, b: IrBuilder): [number, number] => {
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 1)) b.fail(`has ${what} [${v.join(', ')}]; expected two positive sizes`);
  return [v[0], v[1]];
};

function conv(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  const [c, h, w] = image(x, b);
  const W = b.constant(1)!;
  if (W.dims.length !== 4) b.fail(`has a ${W.dims.length}-dimensional weight; lowbit imports 2-D convolutions`);
  const [m, cg, kh, kw] = W.dims;
  const group = b.attrInt('group', 1);
  const k = pair(b.attrInts('kernel_shape', [kh, kw]), 'kernel_shape', b);
  if (k[0] !== kh || k[1] !== kw) b.fail(`has kernel_shape [${k.join(', ')}] but a ${kh}×${kw} weight`);
  const s = pair(b.attrInts('strides', [1, 1]), 'strides', b);
  const d = pair(b.attrInts('dilations', [1, 1]), 'dilations', b);
  if ((d[0] > 1 || d[1] > 1) && (s[0] > 1 || s[1] > 1)) b.fail('is both dilated and strided, which tfjs convolutions do not support');
  const depthwise = group > 1 && group === c && cg === 1 && m % c === 0;
  // Other groups (ResNeXt, ShuffleNet): one conv whose kernel is zero between groups. Exact, but the
  // accelerator model counts the zeros' MACs and fine-tuning may fill them in; the run's notes say so.
  const grouped = group > 1 && !depthwise;
  if (grouped && (c % group !== 0 || m % group !== 0 || cg * group !== c))
    b.fail(`has ${group} groups, a weight for ${cg} input channels per group and ${m} outputs; its input has ${c} channels`);
  if (group === 1 && cg !== c) b.fail(`has a weight for ${cg} input channels; its input has ${c}`);
  if (grouped)
    b.note(
      `${n.name || 'a Conv'} has ${group} groups: imported as one convolution with a block-diagonal kernel (exact; ${group}× its MACs in the accelerator model, and fine-tuning may fill the zeros)`,
    );
  const B = b.constant(2, true);
  if (B && B.data.length !== m) b.fail(`has ${B.data.length} biases for ${m} output channels`);
  const win = windowOf(b, [h, w], k, s, d, 'conv');
  const xin = padded(b, x, win);
  // NCHW [m, cg, kh, kw] → NHWC [kh, kw, c, m]; depthwise [c·mult, 1, kh, kw] → [kh, kw, c, mult];
  // grouped: output o of group g reads input channels g·cg … g·cg + cg − 1.
  const outer = depthwise ? m / c : m;
  const perGroup = m / group;
  const kernel = new Float32Array(kh * kw * c * outer);
  for (let o = 0; o < m; o++)
    for (let ci = 0; ci < cg; ci++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const [cc, oo] = depthwise ? [Math.floor(o / outer), o % outer] : [Math.floor(o / perGroup) * cg + ci, o];
          kernel[((i * kw + j) * c + cc) * outer + oo] = W.data[((o * cg + ci) * kh + i) * kw + j];
        }
  return [
    b.emit(
      { kind: 'conv', kernel, kshape: [kh, kw, c, outer], bias: B && f32(B), strides: s, dilation: d, padding: win.padding, depthwise },
      [xin.ref],
      [m, ...win.out],
    ),
  ];
}

function pool(kind: 'maxpool' | 'avgpool') {
  return (n: OnnxNode, b: IrBuilder): Value[] => {
    const x = b.tensor(0);
    const [c, h, w] = image(x, b);
    if (n.outputs.length > 1 && n.outputs[1]) b.fail('returns the indices of its maxima, which lowbit does not import');
    const k = pair(b.attrInts('kernel_shape'), 'kernel_shape', b);
    const s = pair(b.attrInts('strides', [1, 1]), 'strides', b);
    const d = pair(b.attrInts('dilations', [1, 1]), 'dilations', b);
    if (d[0] !== 1 || d[1] !== 1) b.fail('is a dilated pool, which tfjs does not have');
    const mode: PadMode = kind === 'maxpool' ? 'maxpool' : b.attrInt('count_include_pad', 0) === 1 ? 'avg-count' : 'avg-exclude';
    const win = windowOf(b, [h, w], k, s, d, mode);
    return [b.emit({ kind, size: k, strides: s, padding: win.padding }, [padded(b, x, win).ref], [c, ...win.out])];
  };
}

function clip(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  const bound = (i: number, attr: string, dflt: number) => {
    if (b.opset < 11) return b.attrFloat(attr, dflt);
    const t = n.inputs[i] ? b.constant(i) : null;
    return t ? t.data[0] : dflt;
  };
  const lo = bound(1, 'min', -Infinity),
    hi = bound(2, 'max', Infinity);
  if (lo !== 0 || !(hi === 6 || hi === Infinity)) b.fail(`clips to [${lo}, ${hi}]; lowbit imports Clip(0, 6) (ReLU6) and Clip(0) (ReLU)`);
  return [b.emit({ kind: 'relu', max: hi === Infinity ? null : hi }, [x.ref], x.dims, x)];
}

function dense(
  b: IrBuilder,
  x: Tensor,
  inDim: number,
  units: number,
  at: (k: number, o: number) => number,
  bias: Float32Array | null,
): Value[] {
  if (x.dims.length !== 1) b.fail(`expects a vector per example, got [${x.dims.join(', ')}] (flatten it first)`);
  if (x.dims[0] !== inDim) b.fail(`multiplies ${x.dims[0]} features by a weight for ${inDim}`);
  const kernel = new Float32Array(inDim * units);
  // A vector flattened from an NHWC map lists H, W, C; the ONNX weight's rows follow C, H, W.
  const [fc, fh, fw] = x.flat ?? [inDim, 1, 1];
  for (let ci = 0; ci < fc; ci++)
    for (let i = 0; i < fh; i++)
      for (let j = 0; j < fw; j++) {
        const k = (ci * fh + i) * fw + j,
          r = (i * fw + j) * fc + ci;
        for (let o = 0; o < units; o++) kernel[r * units + o] = at(k, o);
      }
  return [b.emit({ kind: 'dense', kernel, units, inputs: inDim, bias }, [x.ref], [units])];
}

function gemm(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  if (b.attrInt('transA', 0) !== 0) b.fail('transposes its input (transA); lowbit imports Gemm as a dense layer');
  const W = b.constant(1)!;
  if (W.dims.length !== 2) b.fail(`has a ${W.dims.length}-dimensional weight`);
  const tB = b.attrInt('transB', 0) === 1;
  const [inDim, units] = tB ? [W.dims[1], W.dims[0]] : W.dims;
  const alpha = b.attrFloat('alpha', 1),
    beta = b.attrFloat('beta', 1);
  const C = b.constant(2, true);
  let bias: Float32Array | null = null;
  if (C) {
    const nC = C.data.length;
    if (!(nC === 1 || (nC === units && C.dims[C.dims.length - 1] === units)))
      b.fail(`adds a bias of shape [${C.dims.join(', ')}] to ${units} outputs`);
    bias = Float32Array.from({ length: units }, (_, o) => beta * C.data[nC === 1 ? 0 : o]);
  }
  return dense(b, x, inDim, units, (k, o) => alpha * W.data[tB ? o * inDim + k : k * units + o], bias);
}

function matmul(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  const W = b.constant(1)!;
  if (W.dims.length !== 2)
    b.fail(`multiplies by a ${W.dims.length}-dimensional constant; lowbit imports MatMul by a matrix as a dense layer`);
  const [inDim, units] = W.dims;
  return dense(b, x, inDim, units, (k, o) => W.data[k * units + o], null);
}

function batchNorm(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  if (b.attrInt('training_mode', 0) !== 0 || n.outputs.slice(1).some((o) => o))
    b.fail('is in training mode; export the model in eval mode');
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => f32(b.constant(i)!));
  const ch = x.dims[0];
  if ([gamma, beta, mean, variance].some((t) => t.length !== ch)) b.fail(`has parameters that do not match ${ch} channels`);
  return [b.emit({ kind: 'batchnorm', gamma, beta, mean, variance, epsilon: b.attrFloat('epsilon', 1e-5) }, [x.ref], x.dims, x)];
}

function add(n: OnnxNode, b: IrBuilder): Value[] {
  const [p, q] = [b.value(n.inputs[0]), b.value(n.inputs[1])];
  if (p.kind === 'tensor' && q.kind === 'tensor') {
    if (p.dims.join() !== q.dims.join() || !!p.pooled !== !!q.pooled || String(p.flat) !== String(q.flat))
      b.fail(`adds tensors of shapes [${p.dims.join(', ')}] and [${q.dims.join(', ')}]; lowbit imports adds of equal shapes`);
    return [b.emit({ kind: 'add' }, [p.ref, q.ref], p.dims, p)];
  }
  const [x, c] = p.kind === 'tensor' ? [p, q] : [q as Tensor, p];
  if (c.kind !== 'const') return b.fail('adds two constants');
  // A constant per channel: a bias, folded into the layer before it.
  const ch = x.dims[0];
  const n1 = c.t.data.length;
  if (!(n1 === 1 || n1 === ch) || c.t.dims.filter((d) => d !== 1).some((d) => d !== ch))
    b.fail(`adds a constant of shape [${c.t.dims.join(', ')}]; lowbit imports constant adds of one value per channel`);
  return [b.emit({ kind: 'bias', values: Float32Array.from({ length: ch }, (_, i) => c.t.data[n1 === 1 ? 0 : i]) }, [x.ref], x.dims, x)];
}

function flatten(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  if (b.attrInt('axis', 1) !== 1) b.fail(`flattens from axis ${b.attrInt('axis', 1)}; lowbit imports Flatten from axis 1`);
  return [toVector(b, x)];
}

function toVector(b: IrBuilder, x: Tensor): Value {
  if (x.dims.length === 1) return { ...x, pooled: false };
  const [c, h, w] = image(x, b);
  return b.emit({ kind: 'flatten' }, [x.ref], [c * h * w], { flat: [c, h, w] });
}

function reshape(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  const target = Array.from(b.constant(1)!.data);
  const total = x.dims.reduce((s, d) => s * d, 1);
  // The first entry is the batch: 0 (copy), −1 (infer) or the exported batch size.
  const batchFirst = target[0] === 0 || target[0] === -1 || target[0] > 0;
  if (target.length === 2 && batchFirst && (target[1] === total || target[1] === -1)) return [toVector(b, x)];
  if (target.length === 4 && x.dims.length === 1 && target[1] === x.dims[0] && target[2] === 1 && target[3] === 1)
    return [{ ...x, pooled: true }];
  return b.fail(`reshapes [${x.dims.join(', ')}] to [${target.join(', ')}]; lowbit imports reshapes that flatten each example`);
}

function concat(n: OnnxNode, b: IrBuilder): Value[] {
  const consts = constConcat(n, b);
  if (consts) return consts;
  const xs = n.inputs.map((_, i) => b.tensor(i));
  const rank = xs[0].dims.length + 1;
  const axis = b.attrInt('axis');
  if ((axis < 0 ? axis + rank : axis) !== 1) b.fail(`concatenates along axis ${axis}; lowbit imports concatenation of channels (axis 1)`);
  const rest = (v: Tensor) => v.dims.slice(1).join();
  if (xs.some((v) => v.dims.length !== xs[0].dims.length || rest(v) !== rest(xs[0]) || !!v.pooled !== !!xs[0].pooled || v.flat))
    b.fail('concatenates tensors whose other dimensions differ');
  const c = xs.reduce((s, v) => s + v.dims[0], 0);
  return [
    b.emit(
      { kind: 'concat' },
      xs.map((v) => v.ref),
      [c, ...xs[0].dims.slice(1)],
      { pooled: xs[0].pooled },
    ),
  ];
}

function pad(n: OnnxNode, b: IrBuilder): Value[] {
  const x = b.tensor(0);
  const [c, h, w] = image(x, b);
  if (b.attrString('mode', 'constant') !== 'constant')
    b.fail(`pads in mode '${b.attrString('mode', 'constant')}'; lowbit imports zero padding`);
  if (n.inputs[3]) b.fail('pads selected axes, which lowbit does not import');
  const p = Array.from(b.constant(1)!.data);
  const value = n.inputs[2] ? b.constant(2)!.data[0] : 0;
  if (p.length !== 8 || p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0))
    b.fail(`has pads [${p.join(', ')}]; lowbit imports zero padding of height and width`);
  if (p.every((v) => v === 0)) return [x];
  if (value !== 0) b.fail(`pads with ${value}; lowbit imports zero padding`);
  return [
    b.emit(
      {
        kind: 'zeropad',
        pads: [
          [p[2], p[6]],
          [p[3], p[7]],
        ],
      },
      [x.ref],
      [c, h + p[2] + p[6], w + p[3] + p[7]],
    ),
  ];
}

function globalPool(keep: boolean) {
  return (n: OnnxNode, b: IrBuilder): Value[] => {
    const x = b.tensor(0);
    const [c] = image(x, b);
    // Held as a [C] vector either way; keepdims marks it as the [C, 1, 1] map ONNX has.
    return [b.emit({ kind: 'gap' }, [x.ref], [c], { pooled: keep })];
  };
}

function reduceMean(n: OnnxNode, b: IrBuilder): Value[] {
  const axes = b.opset >= 18 ? Array.from(b.constant(1, true)?.data ?? []) : b.attrInts('axes', []);
  const norm = axes.map((a) => (a < 0 ? a + 4 : a)).sort();
  if (norm.join() !== '2,3')
    b.fail(`averages over axes [${axes.join(', ')}]; lowbit imports the mean over height and width (global average pooling)`);
  return globalPool(b.attrInt('keepdims', 1) === 1)(n, b);
}

const alias = (n: OnnxNode, b: IrBuilder): Value[] => [b.value(n.inputs[0])];

export const layerOps: Record<string, OpConverter> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: (n, b) => {
    const x = b.tensor(0);
    return [b.emit({ kind: 'relu', max: null }, [x.ref], x.dims, x)];
  },
  Clip: clip,
  MaxPool: pool('maxpool'),
  AveragePool: pool('avgpool'),
  GlobalAveragePool: globalPool(true),
  ReduceMean: reduceMean,
  Gemm: gemm,
  MatMul: matmul,
  Add: add,
  Flatten: flatten,
  Reshape: reshape,
  Concat: concat,
  Pad: pad,
  Identity: alias,
  Dropout: alias,
};

// Zero padding of an image's borders (tfjs ZeroPadding2D, ONNX Pad): what imported models put
// before convs and pools whose padding is neither 'valid' nor TensorFlow's 'same' (PyTorch's
// stride-2 convs). Integer codes stay codes where their grid has the value 0 (the border is that
// code, as a quantizer after the padding would give it); otherwise the padding runs in float.
import { int64Tensor } from '../onnx/nodes.js';
import { asFloat } from '../runtime/convert.js';
import { byteOffset, type Value } from '../runtime/values.js';
import { elements, fail, image, int } from './config-values.js';
import type { LayerOp } from './layer-op.js';

type Pads = [[number, number], [number, number]];

function pads(v: unknown, what: string): Pads {
  // tfjs keeps an int, [h, w], or [[top, bottom], [left, right]].
  const pair = (x: unknown): [number, number] =>
    Array.isArray(x) ? [int(x[0], what, 0), int(x[1], what, 0)] : [int(x, what, 0), int(x, what, 0)];
  if (!Array.isArray(v)) return [pair(v), pair(v)];
  if (v.length !== 2) fail(`${what} must be a number, a pair or a pair of pairs, got ${JSON.stringify(v)}`);
  return [pair(v[0]), pair(v[1])];
}

/** Copies an NHWC image into the middle of a larger one filled with `fill`. */
function padInto<T extends Float32Array | Int32Array | Uint8Array>(src: T, shape: number[], p: Pads, out: T, fill: number): T {
  const [N, H, W, C] = shape;
  const Ho = H + p[0][0] + p[0][1],
    Wo = W + p[1][0] + p[1][1];
  out.fill(fill);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++) {
      const from = (n * H + h) * W * C;
      out.set(src.subarray(from, from + W * C), ((n * Ho + h + p[0][0]) * Wo + p[1][0]) * C);
    }
  return out;
}

function padValue(v: Value, p: Pads): Value {
  const [N, H, W, C] = v.shape;
  const shape = [N, H + p[0][0] + p[0][1], W + p[1][0] + p[1][1], C];
  const size = shape.reduce((a, b) => a * b, 1);
  if (v.kind === 'q' && v.grid.channels === 1) {
    const zero = v.grid.levels[0].indexOf(0);
    const off = byteOffset(v.grid);
    if (zero >= 0 && v.bytes && off !== null) return { ...v, shape, bytes: padInto(v.bytes, v.shape, p, new Uint8Array(size), off) };
    if (zero >= 0 && v.codes) return { ...v, shape, codes: padInto(v.codes, v.shape, p, new Int32Array(size), v.grid.codeMin + zero) };
  }
  const f = asFloat(v);
  return { kind: 'f', data: padInto(f.data, f.shape, p, new Float32Array(size), 0), shape };
}

export const zeroPaddingOp: LayerOp = {
  className: 'ZeroPadding2D',
  inputs: 'one',
  keepsCodes: true,
  check(l, ctx) {
    const what = `layer ${l.name}`;
    if ((l.config.data_format ?? 'channels_last') !== 'channels_last') fail(`${what}: data_format must be channels_last`);
    const p = pads(l.config.padding ?? 1, `${what} padding`);
    const [H, W, C] = image(ctx.inputs, what, 'zero padding');
    const out = [H + p[0][0] + p[0][1], W + p[1][0] + p[1][1], C];
    elements(out, what);
    return { out, pads: p, relu: false };
  },
  lower(l, ctx) {
    const p = ctx.checked(l.name).pads!;
    const src = l.inbound[0];
    return (vals) => void vals.set(l.name, padValue(vals.get(src)!, p));
  },
  toOnnx(l, c, ctx) {
    const p = c.pads!;
    const pads = ctx.fresh(`${l.name}_pads`);
    // NCHW: [N, C, H, W] begins, then ends.
    ctx.initializers.push(int64Tensor(pads, [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]]));
    const y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'Pad', input: [ctx.input(l).name, pads], output: [y] });
    ctx.output(l, y, 'nchw');
  },
};

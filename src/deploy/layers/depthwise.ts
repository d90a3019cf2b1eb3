// Depthwise convolution (tfjs DepthwiseConv2D, ONNX Conv with group = channels): each input
// channel convolved with its own depth_multiplier filters, output channel c·m + q. In float here
// (imported MobileNet-style models keep their depthwise layers at full precision for now).
import { floatTensor } from '../onnx/tensors.js';
import { int, ints, windowPads } from '../onnx/nodes.js';
import { asFloat } from '../runtime/convert.js';
import { geometry, type Geometry } from '../runtime/ops.js';
import { activation, fail, image, int as intValue, padding, pair } from './config-values.js';
import { floatWeight } from './tfjs-quant.js';
import type { LayerOp } from './layer-op.js';

/** y[n, oh, ow, c·m + q] = Σ_ij x[n, ih, iw, c] · k[i, j, c, q] + bias, padded taps skipped (they are zeros). */
function depthwise(
  x: Float32Array,
  shape: number[],
  k: Float32Array,
  mult: number,
  bias: Float32Array | null,
  g: Geometry,
  relu: boolean,
): Float32Array {
  const [N, H, W, C] = shape;
  const Co = C * mult;
  const out = new Float32Array(N * g.outH * g.outW * Co);
  const acc = new Float64Array(Co);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++) {
        for (let c = 0; c < Co; c++) acc[c] = bias ? bias[c] : 0;
        for (let i = 0; i < g.kh; i++) {
          const ih = oh * g.sh - g.padTop + i * g.dh;
          if (ih < 0 || ih >= H) continue;
          for (let j = 0; j < g.kw; j++) {
            const iw = ow * g.sw - g.padLeft + j * g.dw;
            if (iw < 0 || iw >= W) continue;
            const xa = ((n * H + ih) * W + iw) * C,
              ka = (i * g.kw + j) * Co;
            for (let c = 0; c < C; c++) {
              const v = x[xa + c];
              for (let q = 0; q < mult; q++) acc[c * mult + q] += v * k[ka + c * mult + q];
            }
          }
        }
        for (let c = 0; c < Co; c++, o++) out[o] = relu && acc[c] < 0 ? 0 : acc[c];
      }
  return out;
}

export const depthwiseOp: LayerOp = {
  className: 'DepthwiseConv2D',
  inputs: 'one',
  tensors: { need: ['kernel'], may: ['bias'] },
  weightRoles: (config) => (config.use_bias === false ? ['kernel'] : ['kernel', 'bias']),
  check(l, ctx) {
    const what = `layer ${l.name}`;
    const cfg = l.config;
    const ks = ctx.shapeOf(l.tensors.kernel);
    const [H, W, C] = image(ctx.inputs, what, 'a depthwise convolution');
    if (ks.length !== 4 || ks[2] !== C) fail(`${what}: kernel [${ks.join(', ')}] does not fit an input of ${C} channels`);
    const kernel = pair(cfg.kernel_size, `${what} kernel_size`);
    if (kernel[0] !== ks[0] || kernel[1] !== ks[1]) fail(`${what}: kernel_size does not match the kernel`);
    const mult = intValue(cfg.depth_multiplier ?? 1, `${what} depth_multiplier`);
    if (mult !== ks[3]) fail(`${what}: depth_multiplier does not match the kernel`);
    if ((cfg.data_format ?? 'channels_last') !== 'channels_last') fail(`${what}: data_format must be channels_last`);
    const strides = pair(cfg.strides ?? 1, `${what} strides`);
    const dilation = pair(cfg.dilation_rate ?? 1, `${what} dilation_rate`);
    const pad = padding(cfg.padding ?? 'valid', `${what} padding`);
    const bias = l.tensors.bias ? ctx.floats.get(l.tensors.bias)! : null;
    if (bias && bias.length !== C * mult) fail(`${what}: bias of ${bias.length} for ${C * mult} outputs`);
    const g = geometry(H, W, kernel[0], kernel[1], strides[0], strides[1], pad, dilation[0], dilation[1]);
    if (g.outH < 1 || g.outW < 1) fail(`${what}: the window is larger than the input`);
    return {
      out: [g.outH, g.outW, C * mult],
      conv: { conv: true, kernel, strides, dilation, padding: pad, cin: C, cout: C * mult, inHW: [H, W] },
      relu: activation(cfg.activation, what),
    };
  },
  lower(l, ctx) {
    const c = ctx.checked(l.name);
    const g0 = c.conv!;
    const k = ctx.float(l, 'kernel');
    const bias = l.tensors.bias ? ctx.float(l, 'bias') : null;
    const mult = g0.cout / g0.cin;
    const src = l.inbound[0];
    return (vals) => {
      const x = asFloat(vals.get(src)!);
      const g = geometry(
        x.shape[1],
        x.shape[2],
        g0.kernel[0],
        g0.kernel[1],
        g0.strides[0],
        g0.strides[1],
        g0.padding,
        g0.dilation[0],
        g0.dilation[1],
      );
      const data = depthwise(x.data, x.shape, k, mult, bias, g, c.relu);
      vals.set(l.name, { kind: 'f', data, shape: [x.shape[0], g.outH, g.outW, g0.cout] });
    };
  },
  toOnnx(l, c, ctx) {
    const g = c.conv!;
    const [kh, kw] = g.kernel;
    const k = ctx.packed.floats.get(l.tensors.kernel)!;
    // [kh, kw, C, m] → ONNX [C·m, 1, kh, kw].
    const w = new Float32Array(k.length);
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) for (let o = 0; o < g.cout; o++) w[(o * kh + i) * kw + j] = k[(i * kw + j) * g.cout + o];
    const wName = ctx.fresh(`${l.name}_w`);
    ctx.initializers.push(floatTensor(wName, [g.cout, 1, kh, kw], w));
    const inputs = [ctx.input(l).name, wName];
    if (l.tensors.bias) {
      const b = ctx.fresh(`${l.name}_b`);
      ctx.initializers.push(floatTensor(b, [g.cout], ctx.packed.floats.get(l.tensors.bias)!));
      inputs.push(b);
    }
    let y = ctx.fresh(l.name);
    ctx.nodes.push({
      opType: 'Conv',
      input: inputs,
      output: [y],
      attribute: [windowPads(g), ints('strides', g.strides), ints('dilations', g.dilation), int('group', g.cin)],
    });
    if (c.relu) y = ctx.relu(y, l.name);
    ctx.output(l, y, 'nchw');
  },
  tfjs: {
    weights: (l, p) => [floatWeight(l, p, 'kernel'), ...(l.tensors.bias ? [floatWeight(l, p, 'bias')] : [])],
  },
  cost({ name }) {
    throw new Error(`layer ${name} is a depthwise convolution, which the accelerator model does not cost yet`);
  },
};

// Convolution and dense layers: QConv2D / QDepthwiseConv2D / QDense (lowbit's quantized layers,
// which may hold a weight quantizer with a coded or product-coded kernel, and an input quantizer)
// and stock tfjs Conv2D / DepthwiseConv2D / Dense. A dense layer is a 1×1 convolution on a 1×1
// image everywhere below. A depthwise kernel is [kh, kw, C, m] in tfjs's layer and [kh, kw, 1, C·m]
// in lowbit's (the same values in the same order, one output channel per last index); below it
// is read as the latter, which is also ONNX's grouped weight [C·m, 1, kh, kw] transposed.
import { intGrid } from '../../quant/grid.js';
import { floatTensor } from '../onnx/tensors.js';
import { int as intAttr, ints, quantizeActivation, windowPads } from '../onnx/nodes.js';
import { onnxKernel } from '../onnx/kernel.js';
import { geometry } from '../runtime/ops.js';
import { activation, fail, int, padding, pair } from './config-values.js';
import { lowerConv } from './conv-lower.js';
import { floatWeight, kernelWeight, learnedWeight, quantState } from './tfjs-quant.js';
import type { LayerOp } from './layer-op.js';

const STRIPPED_FOR_PLAIN = ['weight_quant', 'input_quant', 'weight_state', 'input_state', 'refit_every'];

type Kind = 'conv' | 'depthwise' | 'dense';

function convOp(className: string, kind: Kind, quantized: boolean): LayerOp {
  const conv = kind !== 'dense',
    depthwise = kind === 'depthwise';
  return {
    className,
    inputs: 'one',
    tensors: { need: ['kernel'], may: quantized ? ['bias', 'flags', 'extras', 'codebook'] : ['bias'] },
    weightRoles: (config) => (config.use_bias === false ? ['kernel'] : ['kernel', 'bias']),
    quantizers: { weight: quantized, input: quantized },
    gridInput: quantized,
    check(l, ctx) {
      const what = `layer ${l.name}`;
      const cfg = l.config;
      const sin = ctx.inputs[0];
      const kshape = ctx.shapeOf(l.tensors.kernel);
      if (kshape.length !== (conv ? 4 : 2)) fail(`${what}: kernel of rank ${kshape.length}`);
      let cout = kshape[kshape.length - 1];
      let cin = kshape[kshape.length - 2];
      let kernel: [number, number] = [1, 1];
      if (conv) {
        kernel = pair(cfg.kernel_size, `${what} kernel_size`);
        if (kernel[0] !== kshape[0] || kernel[1] !== kshape[1]) fail(`${what}: kernel_size does not match the kernel`);
        if (depthwise) {
          // [kh, kw, C, m] (tfjs) or [kh, kw, 1, C·m] (lowbit's quantized layer): C from the input.
          const m = int(cfg.depth_multiplier ?? 1, `${what} depth_multiplier`);
          cin = sin[sin.length - 1];
          cout = kshape[2] * kshape[3];
          if (!(kshape[2] === cin && kshape[3] === m) && !(kshape[2] === 1 && kshape[3] === cin * m))
            fail(`${what}: a depthwise kernel [${kshape.join(', ')}] does not fit ${cin} input channels × depth_multiplier ${m}`);
        } else if (int(cfg.filters, `${what} filters`) !== cout) fail(`${what}: filters does not match the kernel`);
      } else if (int(cfg.units, `${what} units`) !== cout) fail(`${what}: units does not match the kernel`);
      const strides = conv ? pair(cfg.strides ?? 1, `${what} strides`) : ([1, 1] as [number, number]);
      const dilation = conv ? pair(cfg.dilation_rate ?? 1, `${what} dilation_rate`) : ([1, 1] as [number, number]);
      const pad = conv ? padding(cfg.padding ?? 'valid', `${what} padding`) : 'valid';
      const relu = activation(cfg.activation, what);
      const bias = l.tensors.bias ? ctx.floats.get(l.tensors.bias)! : null;
      if (bias && bias.length !== cout) fail(`${what}: bias of ${bias.length} for ${cout} outputs`);
      let out: number[];
      if (conv) {
        if (sin.length !== 3 || sin[2] !== cin) fail(`${what}: input [${sin.join(', ')}] does not fit a kernel of ${cin} input channels`);
        if ((cfg.data_format ?? 'channels_last') !== 'channels_last') fail(`${what}: data_format must be channels_last`);
        const geo = geometry(sin[0], sin[1], kernel[0], kernel[1], strides[0], strides[1], pad, dilation[0], dilation[1]);
        out = [geo.outH, geo.outW, cout];
      } else {
        if (sin.reduce((x, y) => x * y, 1) !== cin) fail(`${what}: input [${sin.join(', ')}] does not fit a kernel of ${cin} inputs`);
        out = [cout];
      }
      const wq = ctx.weightQuant.get(l.name);
      if (wq) intGrid(wq.spec, wq.params, cout, `${what} weights`);
      const iq = ctx.inputQuant.get(l.name);
      if (iq) intGrid(iq.spec, iq.params, 1, `${what} input`);
      const inHW: [number, number] = conv ? [sin[0], sin[1]] : [1, 1];
      return { out, conv: { conv, kernel, strides, dilation, padding: pad, cin, cout, inHW, ...(depthwise ? { depthwise } : {}) }, relu };
    },
    lower: (l, ctx) => lowerConv(l, ctx),
    toOnnx(l, c, ctx) {
      const p = ctx.packed;
      const src = ctx.input(l);
      const iq = p.inputQuant.get(l.name);
      const x = iq ? quantizeActivation(ctx, src.name, l.name, iq) : src.name;
      const g = c.conv!;
      const kshape = (p.manifest.tensors.find((t) => t.name === l.tensors.kernel) as { shape: number[] }).shape;
      // A depthwise kernel as [kh, kw, 1, C·m]: ONNX's grouped weight [C·m, 1, kh, kw] once transposed.
      const w = onnxKernel(ctx, l, depthwise ? [kshape[0], kshape[1], 1, g.cout] : kshape, conv);
      const bias = l.tensors.bias ? p.floats.get(l.tensors.bias)! : null;
      if (bias) ctx.initializers.push(floatTensor(`${l.name}_b`, [g.cout], bias));
      let y = ctx.fresh(l.name);
      if (conv)
        ctx.nodes.push({
          opType: 'Conv',
          input: bias ? [x, w, `${l.name}_b`] : [x, w],
          output: [y],
          attribute: [
            windowPads(g),
            ints('strides', g.strides),
            ints('dilations', g.dilation),
            ...(depthwise ? [intAttr('group', g.cin)] : []),
          ],
        });
      else {
        ctx.nodes.push({ opType: 'MatMul', input: [x, w], output: [y] });
        if (bias) {
          const yb = ctx.fresh(l.name);
          ctx.nodes.push({ opType: 'Add', input: [y, `${l.name}_b`], output: [yb] });
          y = yb;
        }
      }
      if (c.relu) y = ctx.relu(y, l.name);
      ctx.output(l, y, conv ? 'nchw' : 'flat');
    },
    tfjs: {
      config: (l, p) =>
        quantized
          ? {
              weight_quant: p.weightQuant.get(l.name)?.spec ?? null,
              input_quant: p.inputQuant.get(l.name)?.spec ?? null,
              weight_state: quantState(p.weightQuant.get(l.name)),
              input_state: quantState(p.inputQuant.get(l.name)),
            }
          : {},
      weights: (l, p) => [
        kernelWeight(l, p),
        ...(l.tensors.bias ? [floatWeight(l, p, 'bias')] : []),
        ...learnedWeight(p.weightQuant.get(l.name)),
        ...learnedWeight(p.inputQuant.get(l.name)),
      ],
      plain(layer) {
        if (!quantized) return;
        layer.class_name = depthwise ? 'DepthwiseConv2D' : conv ? 'Conv2D' : 'Dense';
        for (const k of STRIPPED_FOR_PLAIN) delete layer.config[k];
      },
    },
    cost({ name, batch, kernel, input, output, config }) {
      if (!conv)
        return {
          name,
          kind: 'dense',
          batch,
          inH: 1,
          inW: 1,
          inC: kernel[0],
          outH: 1,
          outW: 1,
          outC: kernel[1],
          kh: 1,
          kw: 1,
          strideH: 1,
          strideW: 1,
        };
      const s = config.strides;
      const [strideH, strideW] = Array.isArray(s) ? [Number(s[0]), Number(s[1] ?? s[0])] : typeof s === 'number' ? [s, s] : [1, 1];
      return {
        name,
        kind: depthwise ? 'depthwise' : 'conv2d',
        batch,
        inH: input[1],
        inW: input[2],
        inC: input[3],
        outH: output[1],
        outW: output[2],
        outC: output[3],
        kh: kernel[0],
        kw: kernel[1],
        strideH,
        strideW,
      };
    },
  };
}

export const convOps: LayerOp[] = [
  convOp('QConv2D', 'conv', true),
  convOp('QDepthwiseConv2D', 'depthwise', true),
  convOp('QDense', 'dense', true),
  convOp('Conv2D', 'conv', false),
  convOp('DepthwiseConv2D', 'depthwise', false),
  convOp('Dense', 'dense', false),
];

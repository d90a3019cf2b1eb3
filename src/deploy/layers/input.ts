// The model's input: NHWC float images. In ONNX the graph runs in NCHW, so the input is transposed once.
import { ints } from '../onnx/nodes.js';
import { fail } from './config-values.js';
import type { LayerOp } from './layer-op.js';

export const inputOp: LayerOp = {
  className: 'InputLayer',
  inputs: 'none',
  check(l, ctx) {
    if (l !== ctx.manifest.layers[0]) fail(`layer ${l.name}: the runtime runs models with one input`);
    return { out: ctx.manifest.inputShape, relu: false };
  },
  lower: () => null,
  toOnnx(l, _c, ctx) {
    ctx.nodes.push({ opType: 'Transpose', input: ['input'], output: ['input_nchw'], attribute: [ints('perm', [0, 3, 1, 2])] });
    ctx.output(l, 'input_nchw', 'nchw');
  },
};

// Flattening to [batch, features] in tfjs's NHWC order; integer codes stay codes. In ONNX (NCHW)
// a Transpose back to NHWC comes first, so dense weights are used unchanged.
import { int, ints } from '../onnx/nodes.js';
import { perExample, reshape } from '../runtime/convert.js';
import type { LayerOp } from './layer-op.js';

export const flattenOp: LayerOp = {
  className: 'Flatten',
  inputs: 'one',
  keepsCodes: true,
  check: (_l, ctx) => ({ out: [ctx.inputs[0].reduce((x, y) => x * y, 1)], relu: false }),
  lower(l) {
    const src = l.inbound[0];
    return (vals) => {
      const v = vals.get(src)!;
      vals.set(l.name, reshape(v, [v.shape[0], perExample(v.shape)]));
    };
  },
  toOnnx(l, _c, ctx) {
    const src = ctx.input(l);
    let x = src.name;
    if (src.layout === 'nchw') {
      x = ctx.fresh(`${l.name}_nhwc`);
      ctx.nodes.push({ opType: 'Transpose', input: [src.name], output: [x], attribute: [ints('perm', [0, 2, 3, 1])] });
    }
    const y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'Flatten', input: [x], output: [y], attribute: [int('axis', 1)] });
    ctx.output(l, y, 'flat');
  },
};

// Global average pooling: the mean of every channel over the image, in float.
import { int } from '../onnx/nodes.js';
import { asFloat } from '../runtime/convert.js';
import { image } from './config-values.js';
import type { LayerOp } from './layer-op.js';

export const globalAvgPoolOp: LayerOp = {
  className: 'GlobalAveragePooling2D',
  inputs: 'one',
  check(l, ctx) {
    const sin = image(ctx.inputs, `layer ${l.name}`, 'global pooling');
    return { out: [sin[2]], relu: false };
  },
  lower(l) {
    const src = l.inbound[0];
    return (vals) => {
      const x = asFloat(vals.get(src)!);
      const [N, H, W, C] = x.shape;
      const data = new Float32Array(N * C);
      for (let n = 0; n < N; n++)
        for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) data[n * C + c] += x.data[(n * H * W + i) * C + c] / (H * W);
      vals.set(l.name, { kind: 'f', data, shape: [N, C] });
    };
  },
  toOnnx(l, _c, ctx) {
    const g = ctx.fresh(l.name),
      y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'GlobalAveragePool', input: [ctx.input(l).name], output: [g] });
    ctx.nodes.push({ opType: 'Flatten', input: [g], output: [y], attribute: [int('axis', 1)] });
    ctx.output(l, y, 'flat');
  },
};

// Concatenation along channels (the last axis: tfjs Concatenate, ONNX Concat on axis 1) of images
// or vectors of equal other dimensions, in float: the inputs may come in different grids.
import { int } from '../onnx/nodes.js';
import { asFloat } from '../runtime/convert.js';
import { fail } from './config-values.js';
import type { LayerOp } from './layer-op.js';

export const concatenateOp: LayerOp = {
  className: 'Concatenate',
  inputs: 'many',
  check(l, ctx) {
    const what = `layer ${l.name}`;
    const [first] = ctx.inputs;
    const axis = l.config.axis ?? -1;
    if (axis !== -1 && axis !== first.length)
      fail(`${what}: axis ${JSON.stringify(axis)}; lowbit concatenates along the last axis (channels)`);
    const rest = (s: number[]) => s.slice(0, -1).join();
    ctx.inputs.forEach((s, i) => {
      if (s.length !== first.length || rest(s) !== rest(first))
        fail(
          `${what}: input ${l.inbound[i]} is [${s.join(', ')}], ${l.inbound[0]} [${first.join(', ')}]; only the last dimension may differ`,
        );
    });
    return { out: [...first.slice(0, -1), ctx.inputs.reduce((s, x) => s + x[x.length - 1], 0)], relu: false };
  },
  lower(l) {
    return (vals) => {
      const xs = l.inbound.map((n) => asFloat(vals.get(n)!));
      const widths = xs.map((x) => x.shape[x.shape.length - 1]);
      const total = widths.reduce((a, b) => a + b, 0);
      const rows = xs[0].data.length / widths[0];
      const data = new Float32Array(rows * total);
      // Row by row (a pixel's channels, or an example's features), each input's slice in turn.
      for (let r = 0; r < rows; r++) {
        let at = r * total;
        xs.forEach((x, i) => {
          data.set(x.data.subarray(r * widths[i], (r + 1) * widths[i]), at);
          at += widths[i];
        });
      }
      vals.set(l.name, { kind: 'f', data, shape: [...xs[0].shape.slice(0, -1), total] });
    };
  },
  toOnnx(l, _c, ctx) {
    const ins = l.inbound.map((_, i) => ctx.input(l, i));
    if (ins.some((x) => x.layout !== ins[0].layout)) fail(`layer ${l.name}: inputs of different layouts cannot be concatenated in ONNX`);
    // Channels are axis 1 in NCHW; a flat vector's features are axis 1 too.
    const y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'Concat', input: ins.map((x) => x.name), output: [y], attribute: [int('axis', 1)] });
    ctx.output(l, y, ins[0].layout);
  },
};

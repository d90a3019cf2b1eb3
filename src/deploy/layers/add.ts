// Elementwise sum of two or more layers of the same shape (residual connections), in float.
import { asFloat } from '../runtime/convert.js';
import { fail } from './config-values.js';
import type { LayerOp } from './layer-op.js';

export const addOp: LayerOp = {
  className: 'Add',
  inputs: 'many',
  check(l, ctx) {
    const [first, ...rest] = ctx.inputs;
    rest.forEach((s, i) => {
      if (s.join() !== first.join()) fail(`layer ${l.name}: inputs of different shapes (${l.inbound[i + 1]} against ${l.inbound[0]})`);
    });
    return { out: first, relu: false };
  },
  lower(l) {
    return (vals) => {
      const xs = l.inbound.map((n) => asFloat(vals.get(n)!));
      if (xs.some((x) => x.data.length !== xs[0].data.length)) fail(`layer ${l.name}: inputs of different sizes`);
      const data = new Float32Array(xs[0].data.length);
      for (const x of xs) for (let i = 0; i < data.length; i++) data[i] += x.data[i];
      vals.set(l.name, { kind: 'f', data, shape: xs[0].shape });
    };
  },
  toOnnx(l, _c, ctx) {
    const y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'Sum', input: l.inbound.map((_, i) => ctx.input(l, i).name), output: [y] });
    ctx.output(l, y, ctx.input(l).layout);
  },
};

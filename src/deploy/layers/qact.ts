// QAct: an activation quantizer on its own (a tensor rounded to a format's grid and back to float).
import { intGrid } from '../../quant/grid.js';
import { quantizeActivation } from '../onnx/nodes.js';
import { dequantize } from '../runtime/values.js';
import { quantizeValue } from '../runtime/convert.js';
import { fail } from './config-values.js';
import { learnedWeight, quantState } from './tfjs-quant.js';
import type { LayerOp } from './layer-op.js';

export const qactOp: LayerOp = {
  className: 'QAct',
  inputs: 'one',
  quantizers: { weight: false, input: true },
  check(l, ctx) {
    const q = ctx.inputQuant.get(l.name);
    if (!q) fail(`layer ${l.name} has no quantizer`);
    intGrid(q.spec, q.params, 1, `layer ${l.name}`);
    return { out: ctx.inputs[0], relu: false };
  },
  lower(l, ctx) {
    const q = ctx.packed.inputQuant.get(l.name)!;
    const grid = intGrid(q.spec, q.params, 1, `layer ${l.name}`);
    const src = l.inbound[0];
    return (vals) => void vals.set(l.name, dequantize(quantizeValue(vals.get(src)!, q, grid, false)));
  },
  toOnnx(l, _c, ctx) {
    const src = ctx.input(l);
    ctx.output(l, quantizeActivation(ctx, src.name, l.name, ctx.packed.inputQuant.get(l.name)!), src.layout);
  },
  tfjs: {
    config: (l, p) => ({ quant: p.inputQuant.get(l.name)?.spec, state: quantState(p.inputQuant.get(l.name)) }),
    weights: (l, p) => learnedWeight(p.inputQuant.get(l.name)),
    plain() {
      throw new Error('tfjs plain export: QAct layers have no stock tfjs equivalent');
    },
  },
};

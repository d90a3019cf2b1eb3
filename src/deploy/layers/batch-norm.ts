// lowbit's batch norm (LowbitBatchNorm, with an optional fused ReLU) in inference: y = x·g + h per
// channel, g = gamma / sqrt(variance + epsilon), h = beta - mean·g. A conv/dense layer before it
// folds it into its own epilogue (declared by `affine`).
import { floatTensor } from '../onnx/tensors.js';
import { flt } from '../onnx/nodes.js';
import { asFloat } from '../runtime/convert.js';
import { fail } from './config-values.js';
import { floatWeight } from './tfjs-quant.js';
import type { LayerOp, LowerContext } from './layer-op.js';
import type { LayerEntry } from '../manifest.js';

const ROLES = ['gamma', 'beta', 'movingMean', 'movingVariance'] as const;

function fold(l: LayerEntry, ctx: LowerContext): { g: Float64Array; h: Float64Array; relu: boolean } {
  const c = ctx.checked(l.name);
  const [gamma, beta, mean, variance] = ROLES.map((r) => ctx.float(l, r));
  const g = Float64Array.from(gamma, (v, i) => v / Math.sqrt(variance[i] + c.epsilon!));
  const h = Float64Array.from(beta, (v, i) => v - mean[i] * g[i]);
  return { g, h, relu: c.relu };
}

export const batchNormOp: LayerOp = {
  className: 'LowbitBatchNorm',
  inputs: 'one',
  tensors: { need: ROLES, may: [] },
  weightRoles: () => [...ROLES],
  affine: fold,
  check(l, ctx) {
    const what = `layer ${l.name}`;
    const sin = ctx.inputs[0];
    const cfg = l.config;
    const C = ctx.floats.get(l.tensors.gamma)!.length;
    if (sin[sin.length - 1] !== C) fail(`${what}: ${C} channels for an input of shape [${sin.join(', ')}]`);
    for (const r of ROLES.slice(1))
      if (ctx.floats.get(l.tensors[r])!.length !== C) fail(`${what}: batch norm parameters for ${C} channels, ${r} differs`);
    const eps = cfg.epsilon ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(`${what}: epsilon must be a number > 0`);
    if (ctx.floats.get(l.tensors.movingVariance)!.some((v) => !(v + eps > 0))) fail(`${what}: batch norm variance + epsilon must be > 0`);
    if (cfg.relu !== undefined && typeof cfg.relu !== 'boolean') fail(`${what}: relu must be true or false`);
    return { out: sin, relu: cfg.relu === true, epsilon: eps };
  },
  lower(l, ctx) {
    const { g, h, relu } = fold(l, ctx);
    const C = g.length;
    const src = l.inbound[0];
    return (vals) => {
      const x = asFloat(vals.get(src)!);
      const data = Float32Array.from(x.data, (v, i) => {
        const y = v * g[i % C] + h[i % C];
        return relu && y < 0 ? 0 : y;
      });
      vals.set(l.name, { kind: 'f', data, shape: x.shape });
    };
  },
  toOnnx(l, c, ctx) {
    const src = ctx.input(l);
    const names = ROLES.map((r) => {
      const v = ctx.packed.floats.get(l.tensors[r])!;
      ctx.initializers.push(floatTensor(`${l.name}_${r}`, [v.length], v));
      return `${l.name}_${r}`;
    });
    let y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'BatchNormalization', input: [src.name, ...names], output: [y], attribute: [flt('epsilon', c.epsilon!)] });
    if (c.relu) y = ctx.relu(y, l.name);
    ctx.output(l, y, src.layout);
  },
  tfjs: { weights: (l, p) => ROLES.map((r) => floatWeight(l, p, r)) },
};

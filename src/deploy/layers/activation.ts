// ReLU layers and Activation layers (relu, relu6 or linear). A conv/dense layer before a plain
// ReLU fuses it; a ReLU capped at a maximum (ReLU6, as MobileNets and imported models have) runs
// as its own clamp in float.
import { floatTensor } from '../onnx/tensors.js';
import { asFloat } from '../runtime/convert.js';
import { fail } from './config-values.js';
import type { LayerOp } from './layer-op.js';

interface Act {
  relu: boolean;
  /** The cap of a capped ReLU (6 for ReLU6), or null. */
  max: number | null;
}

function activationOp(className: string, parse: (config: Record<string, unknown>, what: string) => Act): LayerOp {
  return {
    className,
    inputs: 'one',
    activation: (l, ctx) => ctx.checked(l.name).relu && ctx.checked(l.name).clampMax === undefined,
    check(l, ctx) {
      const a = parse(l.config, `layer ${l.name}`);
      return { out: ctx.inputs[0], relu: a.relu, ...(a.max !== null ? { clampMax: a.max } : {}) };
    },
    lower(l, ctx) {
      const src = l.inbound[0];
      const { relu, clampMax } = ctx.checked(l.name);
      if (!relu) return (vals) => void vals.set(l.name, vals.get(src)!);
      const hi = clampMax ?? Infinity;
      return (vals) => {
        const x = asFloat(vals.get(src)!);
        vals.set(l.name, { kind: 'f', data: x.data.map((v) => (v < 0 ? 0 : v > hi ? hi : v)), shape: x.shape });
      };
    },
    toOnnx(l, c, ctx) {
      const src = ctx.input(l);
      if (c.clampMax === undefined) return ctx.output(l, c.relu ? ctx.relu(src.name, l.name) : src.name, src.layout);
      const [lo, hi, y] = [ctx.fresh(`${l.name}_min`), ctx.fresh(`${l.name}_max`), ctx.fresh(l.name)];
      ctx.initializers.push(floatTensor(lo, [], [0]), floatTensor(hi, [], [c.clampMax]));
      ctx.nodes.push({ opType: 'Clip', input: [src.name, lo, hi], output: [y] });
      ctx.output(l, y, src.layout);
    },
  };
}

/** tfjs ReLU: max_value caps it (ReLU6); Keras's other knobs must be off. */
function reluConfig(cfg: Record<string, unknown>, what: string): Act {
  const max = cfg.max_value ?? null;
  if (max !== null && !(typeof max === 'number' && max > 0 && Number.isFinite(max)))
    fail(`${what}: max_value must be a positive number, got ${JSON.stringify(max)}`);
  for (const k of ['negative_slope', 'threshold'])
    if (cfg[k] !== undefined && cfg[k] !== 0 && cfg[k] !== null) fail(`${what}: ${k} ${JSON.stringify(cfg[k])} is not supported (0 only)`);
  return { relu: true, max: max as number | null };
}

/** Activation layers: relu, relu6 or linear. */
function activationConfig(cfg: Record<string, unknown>, what: string): Act {
  const v = cfg.activation;
  if (v === undefined || v === null || v === 'linear') return { relu: false, max: null };
  if (v === 'relu') return { relu: true, max: null };
  if (v === 'relu6') return { relu: true, max: 6 };
  return fail(`${what}: activation ${JSON.stringify(v)} is not supported (linear, relu or relu6)`);
}

export const reluOp = activationOp('ReLU', reluConfig);
export const activationLayerOp = activationOp('Activation', activationConfig);

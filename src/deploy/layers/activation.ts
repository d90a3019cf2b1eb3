// ReLU layers and Activation layers (relu or linear); a conv/dense layer before one fuses it.
import { asFloat } from '../runtime/convert.js';
import { activation } from './config-values.js';
import type { LayerOp } from './layer-op.js';

function activationOp(className: string, relu: (config: Record<string, unknown>, what: string) => boolean): LayerOp {
  return {
    className,
    inputs: 'one',
    activation: (l, ctx) => ctx.checked(l.name).relu,
    check: (l, ctx) => ({ out: ctx.inputs[0], relu: relu(l.config, `layer ${l.name}`) }),
    lower(l, ctx) {
      const src = l.inbound[0];
      if (!ctx.checked(l.name).relu) return (vals) => void vals.set(l.name, vals.get(src)!);
      return (vals) => {
        const x = asFloat(vals.get(src)!);
        vals.set(l.name, { kind: 'f', data: x.data.map((v) => (v < 0 ? 0 : v)), shape: x.shape });
      };
    },
    toOnnx(l, c, ctx) {
      const src = ctx.input(l);
      ctx.output(l, c.relu ? ctx.relu(src.name, l.name) : src.name, src.layout);
    },
  };
}

export const reluOp = activationOp('ReLU', () => true);
export const activationLayerOp = activationOp('Activation', (cfg, what) => activation(cfg.activation, what));

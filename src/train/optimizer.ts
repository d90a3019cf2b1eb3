// SGD with momentum and Adam/AdamW, one fused pass per parameter (native when available,
// the same arithmetic in TypeScript otherwise). State lives in plain Float32Arrays owned here,
// so it is cheap to update in place and to write into checkpoints.
import { z } from 'zod';
import { tf, type Tensor } from '../engine/tf.js';
import { nativeKernels } from '../engine/state.js';
import { alloc } from '../engine/buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface OptimizerKernels {
  sgdMomentum(
    w: Float32Array,
    g: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: number,
  ): void;
  adam(
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    decoupled: number,
  ): void;
}
const optimizerKernels = nativeKernels<OptimizerKernels>(['sgdMomentum', 'adam']);

const unit = z.number().min(0).max(1);
export const optimizerConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sgd'), momentum: unit, weightDecay: unit, nesterov: z.boolean() }).strict(),
  z
    .object({
      kind: z.literal('adam'),
      beta1: unit,
      beta2: unit,
      eps: z.number().positive().max(1),
      weightDecay: unit,
      decoupled: z.boolean(),
    })
    .strict(),
]);
export type OptimizerConfig = z.output<typeof optimizerConfigSchema>;

/** An optimizer configuration read from a file; `file` names it in the error. */
export function parseOptimizerConfig(raw: unknown, file: string): OptimizerConfig {
  const r = optimizerConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new Error(`${file}: damaged optimizer configuration: ${i.path.join('.') || 'config'}: ${i.message}`);
}

export interface OptimizerState {
  step: number;
  /** Per variable (by position in the variable list): its state buffers. */
  slots: Float32Array[][];
}

/** Weight decay applies to weight matrices and kernels (rank >= 2), not to biases or BN parameters. */
export function decays(v: tf.Variable): boolean {
  return v.shape.length >= 2;
}

export class Optimizer {
  private state: OptimizerState = { step: 0, slots: [] };

  constructor(readonly config: OptimizerConfig) {}

  get step(): number {
    return this.state.step;
  }

  /** Applies one update with learning rate `lr`; grads[i] belongs to vars[i]. */
  apply(vars: tf.Variable[], grads: Tensor[], lr: number): void {
    this.state.step++;
    const n = optimizerKernels();
    const c = this.config;
    vars.forEach((v, i) => {
      const w = v.dataSync() as Float32Array;
      const g = grads[i].dataSync() as Float32Array;
      const slots = (this.state.slots[i] ??= Array.from({ length: c.kind === 'sgd' ? 1 : 2 }, () => new Float32Array(w.length)));
      if (slots[0].length !== w.length)
        throw new Error(`optimizer state for variable ${v.name} has ${slots[0].length} values, expected ${w.length}`);
      const wd = decays(v) ? c.weightDecay : 0;
      const out = alloc(w.length);
      if (c.kind === 'sgd') {
        if (n) n.sgdMomentum(w, g, slots[0], out, lr, c.momentum, wd, c.nesterov ? 1 : 0);
        else sgdReference(w, g, slots[0], out, lr, c.momentum, wd, c.nesterov);
      } else {
        if (n) n.adam(w, g, slots[0], slots[1], out, lr, c.beta1, c.beta2, c.eps, wd, this.state.step, c.decoupled ? 1 : 0);
        else adamReference(w, g, slots[0], slots[1], out, lr, c, wd, this.state.step);
      }
      // assign() shares the new tensor's data; dropping the temporary keeps tensor counts flat.
      const next = tf.tensor(out, v.shape, 'float32');
      v.assign(next);
      next.dispose();
    });
  }

  exportState(): OptimizerState {
    return { step: this.state.step, slots: this.state.slots.map((s) => s.map((a) => a.slice())) };
  }

  importState(s: OptimizerState): void {
    this.state = { step: s.step, slots: s.slots.map((x) => x.map((a) => a.slice())) };
  }
}

/** PyTorch's SGD: g' = g + wd*w; v = mu*v + g'; w -= lr * (nesterov ? g' + mu*v : v). */
export function sgdReference(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lr: number,
  mu: number,
  wd: number,
  nesterov: boolean,
): void {
  for (let i = 0; i < w.length; i++) {
    const gi = Math.fround(g[i] + wd * w[i]);
    const vi = Math.fround(mu * v[i] + gi);
    v[i] = vi;
    out[i] = w[i] - lr * (nesterov ? gi + mu * vi : vi);
  }
}

export function adamReference(
  w: Float32Array | Float64Array,
  g: Float32Array | Float64Array,
  m: Float32Array | Float64Array,
  v: Float32Array | Float64Array,
  out: Float32Array | Float64Array,
  lr: number,
  c: Extract<OptimizerConfig, { kind: 'adam' }>,
  wd: number,
  step: number,
): void {
  const c1 = 1 - c.beta1 ** step,
    c2 = 1 - c.beta2 ** step;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + (c.decoupled ? 0 : wd * w[i]);
    const mi = c.beta1 * m[i] + (1 - c.beta1) * gi;
    const vi = c.beta2 * v[i] + (1 - c.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    out[i] = w[i] - lr * (mi / c1 / (Math.sqrt(vi / c2) + c.eps) + (c.decoupled ? wd * w[i] : 0));
  }
}

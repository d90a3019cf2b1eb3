// Fake quantization as a differentiable tfjs op: forward decode(encode(x)), backward the
// format's straight-through rule. Native kernels run the format's `plan`; without them the
// format's own TypeScript encode/decode/passes do the same work (and serve as the reference).
// LSQ and PACT variants also return the gradient of their learned parameter.
import { tf, type Tensor } from '../engine/tf.js';
import { nativeKernels } from '../engine/state.js';
import { alloc } from '../engine/buffer-pool.js';
import { customOp } from '../engine/ops/custom-op.js';
import { formatOf, type FormatSpec, type SpecOf } from './registry.js';
import { lsqGradScale, lsqRange } from './lsq.js';
import { pactParams } from './pact.js';
import type { QuantPlan } from './types.js';
import type { UniformParams } from './uniform.js';
import { roundHalfEven } from './numeric.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface FakeQuantKernels {
  fqUniform(
    x: Float32Array,
    out: Float32Array,
    mask: Uint8Array | null,
    scale: Float32Array,
    zeroPoint: Float32Array,
    c: number,
    qmin: number,
    qmax: number,
    flags: Uint8Array | null,
  ): void;
  fqBinary(x: Float32Array, out: Float32Array, mask: Uint8Array | null, scale: Float32Array, c: number): void;
  fqTernary(x: Float32Array, out: Float32Array, mask: Uint8Array | null, scale: Float32Array, c: number, threshold: number): void;
  fqTable(
    x: Float32Array,
    out: Float32Array,
    mask: Uint8Array | null,
    tables: Float32Array,
    c: number,
    length: number,
    signed: number,
  ): void;
  fqEsb(x: Float32Array, out: Float32Array, mask: Uint8Array | null, alpha: Float32Array, c: number, bits: number, k: number): void;
  maskGrad(dy: Float32Array, mask: Uint8Array, dx: Float32Array): void;
  lsqStepGrad(
    dy: Float32Array,
    x: Float32Array,
    scale: Float32Array,
    c: number,
    qmin: number,
    qmax: number,
    gradScale: number,
    ds: Float32Array,
  ): void;
  pactAlphaGrad(dy: Float32Array, x: Float32Array, alpha: number, dalpha: Float32Array): void;
}
export const FAKE_QUANT_KERNELS: readonly (keyof FakeQuantKernels)[] = [
  'fqUniform',
  'fqBinary',
  'fqTernary',
  'fqTable',
  'fqEsb',
  'maskGrad',
  'lsqStepGrad',
  'pactAlphaGrad',
];
const fakeQuantKernels = nativeKernels<FakeQuantKernels>(FAKE_QUANT_KERNELS);

/** Channels a plan's parameters describe. */
function planChannels(p: QuantPlan): number {
  switch (p.kind) {
    case 'uniform':
    case 'binary':
    case 'ternary':
      return p.scale.length;
    case 'table':
      return p.tables.length / p.length;
    case 'esb':
      return p.alpha.length;
    default: {
      const never: never = p;
      throw new Error(`unknown plan ${JSON.stringify(never)}`);
    }
  }
}

/** Runs a plan natively: fills out (and mask, if given). */
export function runPlan(n: FakeQuantKernels, p: QuantPlan, x: Float32Array, out: Float32Array, mask: Uint8Array | null): void {
  const C = planChannels(p);
  switch (p.kind) {
    case 'uniform':
      return n.fqUniform(x, out, mask, p.scale, p.zeroPoint, C, p.qmin, p.qmax, p.flags ?? null);
    case 'binary':
      return n.fqBinary(x, out, mask, p.scale, C);
    case 'ternary':
      return n.fqTernary(x, out, mask, p.scale, C, p.threshold);
    case 'table':
      return n.fqTable(x, out, mask, p.tables, C, p.length, p.signed ? 1 : 0);
    case 'esb':
      return n.fqEsb(x, out, mask, p.alpha, C, p.bits, p.k);
    default: {
      const never: never = p;
      throw new Error(`unknown plan ${JSON.stringify(never)}`);
    }
  }
}

/** Reference: the format's encode/decode and gradient rule in TypeScript. */
export function fakeQuantArrays(
  x: Float32Array,
  shape: readonly number[],
  spec: FormatSpec,
  params: unknown,
): { out: Float32Array; mask: Uint8Array } {
  const def = formatOf(spec);
  const out = def.decode(def.encode(x, shape, spec, params), shape, spec, params);
  const C = def.channels(params);
  const mask = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) mask[i] = def.passes(x[i], spec, params, C === 1 ? 0 : i % C) ? 1 : 0;
  return { out, mask };
}

function checkChannels(x: Tensor, channels: number, spec: FormatSpec): void {
  const last = x.shape[x.shape.length - 1];
  if (channels !== 1 && channels !== last)
    throw new Error(`${spec.format}: parameters for ${channels} channels, but the tensor's last axis is ${last}`);
}

/**
 * A change to fake quantization's result made by a retraining method (stochastic quantization
 * keeps some channels at full precision): receives x, the quantized values and the
 * straight-through mask, and may rewrite the last two in place.
 */
export type FakeQuantHook = (x: Float32Array, out: Float32Array, mask: Uint8Array, shape: readonly number[]) => void;

/** decode(encode(x)) with the straight-through gradient of the format's rule. */
export function fakeQuant(x: Tensor, spec: FormatSpec, params: unknown, hook: FakeQuantHook | null = null): Tensor {
  const def = formatOf(spec);
  checkChannels(x, def.channels(params), spec);
  const n = fakeQuantKernels();
  const plan = n ? def.plan(spec, params) : null;
  const op = customOp(([xi]) => {
    const xv = xi.dataSync() as Float32Array;
    let out: Float32Array, mask: Uint8Array;
    if (n && plan) {
      out = alloc(xv.length);
      mask = new Uint8Array(xv.length);
      runPlan(n, plan, xv, out, mask);
    } else ({ out, mask } = fakeQuantArrays(xv, xi.shape, spec, params));
    hook?.(xv, out, mask, xi.shape);
    return { value: tf.tensor(out, xi.shape, 'float32'), gradFunc: (dy) => [maskGrad(n, dy, mask)] };
  });
  return op(x);
}

function maskGrad(n: FakeQuantKernels | null, dy: Tensor, mask: Uint8Array): Tensor {
  const d = dy.dataSync() as Float32Array;
  const dx = alloc(d.length);
  if (n) n.maskGrad(d, mask, dx);
  else for (let i = 0; i < d.length; i++) dx[i] = mask[i] ? d[i] : 0;
  return tf.tensor(dx, dy.shape, 'float32');
}

/**
 * LSQ with a learned step `step` ([C] or [1]): gradients to x (straight-through inside the
 * range) and to the step (Esser et al.: round(x/s) - x/s inside, -Qn or Qp outside, times
 * 1/√(N·Qp) with N the number of values per step).
 */
/** Fake quantization with a trained parameter (the format's `training.learned`: a step or a clip). */
export function fakeQuantLearned(x: Tensor, learned: Tensor, spec: FormatSpec): Tensor {
  const kind = formatOf(spec).training?.learned?.kind;
  if (kind === 'step') return fakeQuantLsq(x, learned, spec as SpecOf<'lsq'>);
  if (kind === 'clip') return fakeQuantPact(x, learned, spec as SpecOf<'pact'>);
  throw new Error(`format ${spec.format} has no trained parameter`);
}

export function fakeQuantLsq(x: Tensor, step: Tensor, spec: SpecOf<'lsq'>): Tensor {
  checkChannels(x, step.size, spec);
  const n = fakeQuantKernels();
  const [qmin, qmax] = lsqRange(spec);
  const op = customOp(([xi, s]) => {
    const xv = xi.dataSync() as Float32Array;
    const sv = Float32Array.from(s.dataSync() as Float32Array, (v) => Math.max(v, 1e-12));
    const C = sv.length;
    const params: UniformParams = { scale: Array.from(sv), zeroPoint: new Array(C).fill(0) };
    let out: Float32Array, mask: Uint8Array;
    if (n) {
      out = alloc(xv.length);
      mask = new Uint8Array(xv.length);
      n.fqUniform(xv, out, mask, sv, new Float32Array(C), C, qmin, qmax, null);
    } else ({ out, mask } = fakeQuantArrays(xv, xi.shape, spec, params));
    const g = lsqGradScale(spec, xv.length / C);
    return {
      value: tf.tensor(out, xi.shape, 'float32'),
      gradFunc: (dy) => {
        const d = dy.dataSync() as Float32Array;
        const ds = new Float32Array(C);
        if (n) n.lsqStepGrad(d, xv, sv, C, qmin, qmax, g, ds);
        else {
          const acc = new Float64Array(C);
          for (let i = 0; i < xv.length; i++) {
            const c = C === 1 ? 0 : i % C;
            const v = Math.fround(xv[i] / sv[c]);
            acc[c] += d[i] * (v <= qmin ? qmin : v >= qmax ? qmax : roundHalfEven(v) - v);
          }
          acc.forEach((a, c) => (ds[c] = a * g));
        }
        return [maskGrad(n, dy, mask), tf.tensor(ds, s.shape, 'float32')];
      },
    };
  });
  return op(x, step);
}

/** PACT with a learned clip α (scalar): gradients to x (inside [0, α]) and to α (sum of dy where x >= α). */
export function fakeQuantPact(x: Tensor, alpha: Tensor, spec: SpecOf<'pact'>): Tensor {
  const n = fakeQuantKernels();
  const op = customOp(([xi, a]) => {
    const xv = xi.dataSync() as Float32Array;
    const av = a.dataSync()[0];
    const params = pactParams(av, spec.bits);
    let out: Float32Array, mask: Uint8Array;
    if (n) {
      out = alloc(xv.length);
      mask = new Uint8Array(xv.length);
      n.fqUniform(xv, out, mask, Float32Array.from(params.scale), new Float32Array(1), 1, 0, 2 ** spec.bits - 1, null);
    } else ({ out, mask } = fakeQuantArrays(xv, xi.shape, spec, params));
    const alphaUsed = params.alpha[0];
    return {
      value: tf.tensor(out, xi.shape, 'float32'),
      gradFunc: (dy) => {
        const d = dy.dataSync() as Float32Array;
        const da = new Float32Array(1);
        if (n) n.pactAlphaGrad(d, xv, alphaUsed, da);
        else for (let i = 0; i < xv.length; i++) if (xv[i] >= alphaUsed) da[0] += d[i];
        return [maskGrad(n, dy, mask), tf.tensor(da, a.shape, 'float32')];
      },
    };
  });
  return op(x, alpha);
}

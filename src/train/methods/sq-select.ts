// Stochastic quantization's choice of what stays at full precision (Dong et al. 2017, as
// SPEC.md §3 reads it): each unit (an output channel, or a single weight) has a quantization
// error e_i; ⌊(1 - r)·m⌋ units are kept at full precision, drawn by roulette without
// replacement with probability ∝ f(e_i / mean e), or the largest errors when deterministic.
//
// Roulette without replacement is drawn with Efraimidis–Spirakis keys: key_i = log f_i -
// log(-log u_i), keep the largest. The u_i are a hash of (seed, i), so the draw does not depend
// on the thread count and the native kernel (native/src/methods.cc) draws exactly these.
//
// Probability functions on z = e / mean(e) (dimensionless, mean 1): constant 1 (uniform),
// linear z (the default; the paper found it best), softmax exp(z) (prefers large errors more
// strongly) and sigmoid 1/(1+exp(-z)) (less strongly than linear).
import { nativeKernels } from '../../engine/state.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface SqKernels {
  channelL1Error(x: Float32Array, q: Float32Array, c: number, num: Float64Array, den: Float64Array): void;
  keepChannels(x: Float32Array, out: Float32Array, mask: Uint8Array, keep: Uint8Array, c: number): void;
  keepElements(
    x: Float32Array,
    out: Float32Array,
    mask: Uint8Array,
    count: number,
    fn: number,
    deterministic: number,
    seed: number,
  ): number;
}
const sqKernels = nativeKernels<SqKernels>(['channelL1Error', 'keepChannels', 'keepElements']);

export const probabilityFunctions = ['constant', 'linear', 'softmax', 'sigmoid'] as const;
export type ProbabilityFunction = (typeof probabilityFunctions)[number];

/** lowbias32 (Wellons), as the native kernel. */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The uniform number of unit i in (0, 1). */
export function unitUniform(seed: number, i: number): number {
  return (hash32((seed ^ hash32(i)) >>> 0) + 0.5) / 4294967296;
}

/** log f(z). */
export function logWeight(z: number, fn: ProbabilityFunction): number {
  switch (fn) {
    case 'constant':
      return 0;
    case 'linear':
      return z > 0 ? Math.log(z) : -Infinity;
    case 'softmax':
      return z;
    case 'sigmoid':
      return -Math.log1p(Math.exp(-z));
  }
}

export interface Selection {
  fn: ProbabilityFunction;
  deterministic: boolean;
  seed: number;
}

/** Which of the units to keep at full precision (1 = keep), `count` of them. */
export function chooseKept(errors: ArrayLike<number>, count: number, s: Selection): Uint8Array {
  const m = errors.length;
  const keep = new Uint8Array(m);
  if (count <= 0) return keep;
  if (count >= m) return keep.fill(1);
  let sum = 0;
  for (let i = 0; i < m; i++) sum += errors[i];
  const mean = sum / m;
  const key = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    if (s.deterministic) key[i] = errors[i];
    else {
      const z = mean > 0 ? errors[i] / mean : 1;
      key[i] = logWeight(z, s.fn) - Math.log(-Math.log(unitUniform(s.seed, i)));
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => key[b] - key[a] || a - b);
  for (let j = 0; j < count; j++) keep[order[j]] = 1;
  return keep;
}

/** Per-channel relative L1 error ‖x_c - q_c‖₁ / ‖x_c‖₁ over the last axis (C channels). */
export function channelErrors(x: Float32Array, q: Float32Array, C: number): Float64Array {
  const num = new Float64Array(C),
    den = new Float64Array(C);
  const n = sqKernels();
  if (n) n.channelL1Error(x, q, C, num, den);
  else
    for (let i = 0; i < x.length; i++) {
      const c = i % C;
      num[c] += Math.abs(x[i] - q[i]);
      den[c] += Math.abs(x[i]);
    }
  return num.map((v, c) => (den[c] > 0 ? v / den[c] : 0));
}

/** Per-weight relative error |x - q| / |x| (0 where x = 0), in float32 as the native kernel. */
export function elementErrors(x: Float32Array, q: Float32Array): Float32Array {
  const e = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    e[i] = a > 0 ? Math.fround(Math.fround(Math.abs(x[i] - q[i])) / a) : 0;
  }
  return e;
}

/** Keeps `count` channels (last axis) at full precision: x's values and a passing gradient. */
export function keepChannels(x: Float32Array, out: Float32Array, mask: Uint8Array, C: number, count: number, s: Selection): Uint8Array {
  const keep = chooseKept(channelErrors(x, out, C), count, s);
  const n = sqKernels();
  if (n) n.keepChannels(x, out, mask, keep, C);
  else
    for (let i = 0; i < x.length; i++)
      if (keep[i % C]) {
        out[i] = x[i];
        mask[i] = 1;
      }
  return keep;
}

/** Keeps `count` single weights at full precision. */
export function keepElements(x: Float32Array, out: Float32Array, mask: Uint8Array, count: number, s: Selection): void {
  const n = sqKernels();
  if (n) {
    n.keepElements(x, out, mask, count, probabilityFunctions.indexOf(s.fn), s.deterministic ? 1 : 0, s.seed >>> 0);
    return;
  }
  const keep = chooseKept(elementErrors(x, out), count, s);
  for (let i = 0; i < x.length; i++)
    if (keep[i]) {
      out[i] = x[i];
      mask[i] = 1;
    }
}

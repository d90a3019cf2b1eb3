// SLB's per-weight arithmetic (native/src/slb.cc runs the same on the addon; these are the
// portable versions and the reference the tests compare against). Weight i of output channel c
// has logits a[i·J .. i·J+J) over the values unit[c]·levels[j].

import { nativeKernels } from '../../engine/state.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface SlbKernels {
  slbSoft(a: Float32Array, levels: Float32Array, unit: Float32Array, t: number, w: Float32Array, conf: Float32Array): void;
  slbAdam(
    a: Float32Array,
    levels: Float32Array,
    unit: Float32Array,
    t: number,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
  ): void;
  slbHard(a: Float32Array, levels: Float32Array, unit: Float32Array, w: Float32Array): void;
}
const slbKernels = nativeKernels<SlbKernels>(['slbSoft', 'slbAdam', 'slbHard']);

function softmax(a: Float32Array, at: number, J: number, T: number, p: Float64Array): number {
  let mx = a[at];
  for (let j = 1; j < J; j++) mx = Math.max(mx, a[at + j]);
  let z = 0;
  for (let j = 0; j < J; j++) z += p[j] = Math.exp(T * (a[at + j] - mx));
  let best = 0;
  for (let j = 0; j < J; j++) best = Math.max(best, (p[j] /= z));
  return best;
}

/** Soft weights (the expectation under softmax(T·a)); returns the mean largest probability. */
export function slbSoft(a: Float32Array, levels: Float32Array, unit: Float32Array, T: number, w: Float32Array): number {
  const n = slbKernels();
  if (n) {
    const conf = new Float32Array(1);
    n.slbSoft(a, levels, unit, T, w, conf);
    return conf[0];
  }
  const J = levels.length,
    C = unit.length,
    p = new Float64Array(J);
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    total += softmax(a, i * J, J, T, p);
    let e = 0;
    for (let j = 0; j < J; j++) e += p[j] * levels[j];
    w[i] = unit[C === 1 ? 0 : i % C] * e;
  }
  return total / w.length;
}

/** dL/dA for the soft weights' gradient g: g_i·T·p_j·(v_cj − w_i) (the portable path and the tests' reference). */
export function slbLogitGrad(a: Float32Array, levels: Float32Array, unit: Float32Array, T: number, g: Float32Array): Float64Array {
  const J = levels.length,
    C = unit.length,
    p = new Float64Array(J),
    d = new Float64Array(a.length);
  for (let i = 0; i < g.length; i++) {
    softmax(a, i * J, J, T, p);
    let e = 0;
    for (let j = 0; j < J; j++) e += p[j] * levels[j];
    const u = unit[C === 1 ? 0 : i % C];
    for (let j = 0; j < J; j++) d[i * J + j] = g[i] * T * p[j] * u * (levels[j] - e);
  }
  return d;
}

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step for the bias correction. */
  step: number;
}

/** One Adam step on the logits from the soft weights' gradient g (through the softmax's Jacobian). */
export function slbAdam(
  a: Float32Array,
  levels: Float32Array,
  unit: Float32Array,
  T: number,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  s: AdamSettings,
): void {
  const n = slbKernels();
  if (n) return n.slbAdam(a, levels, unit, T, g, m, v, s.lr, s.beta1, s.beta2, s.eps, s.step);
  const d = slbLogitGrad(a, levels, unit, T, g);
  const c1 = 1 - s.beta1 ** s.step,
    c2 = 1 - s.beta2 ** s.step;
  for (let k = 0; k < a.length; k++) {
    const mk = s.beta1 * m[k] + (1 - s.beta1) * d[k],
      vk = s.beta2 * v[k] + (1 - s.beta2) * d[k] * d[k];
    m[k] = mk;
    v[k] = vk;
    a[k] = a[k] - (s.lr * (mk / c1)) / (Math.sqrt(vk / c2) + s.eps);
  }
}

/** Hard weights: the value of each weight's largest logit (the first on ties). */
export function slbHard(a: Float32Array, levels: Float32Array, unit: Float32Array, w: Float32Array): void {
  const n = slbKernels();
  if (n) return n.slbHard(a, levels, unit, w);
  const J = levels.length,
    C = unit.length;
  for (let i = 0; i < w.length; i++) {
    let best = 0;
    for (let j = 1; j < J; j++) if (a[i * J + j] > a[i * J + best]) best = j;
    w[i] = unit[C === 1 ? 0 : i % C] * levels[best];
  }
}

/** Initial logits: −(distance to each value in steps)², so the soft weight starts near the float one. */
export function slbInit(w: Float32Array, levels: Float32Array, unit: Float32Array, step: Float32Array): Float32Array {
  const J = levels.length,
    C = unit.length;
  const a = new Float32Array(w.length * J);
  for (let i = 0; i < w.length; i++) {
    const c = C === 1 ? 0 : i % C;
    for (let j = 0; j < J; j++) {
      const d = (w[i] - unit[c] * levels[j]) / step[c];
      a[i * J + j] = -d * d;
    }
  }
  return a;
}

// Per-layer Hessian traces by Hutchinson's estimator (the sensitivity of SPEC.md §4, as in
// HAWQ-V2): tr(H_ll) = E[v_lᵀ (H v)_l] for Rademacher v over all weights at once (the cross
// terms v_lᵀ H_lm v_m average to zero). The Hessian-vector product is a central difference of
// gradients, Hv ≈ (∇L(w + εv) − ∇L(w − εv)) / 2ε, which needs only first-order gradients (the
// native kernels' custom gradients are not differentiable twice). Probes continue until every
// layer's running mean changes by less than `tol` (relative) twice in a row, or `maxProbes`.
import { tf, type Tensor } from '../engine/tf.js';
import { makeRng } from '../data/rng.js';

export interface TraceOptions {
  /** Step of the central difference, relative to each variable's RMS value. */
  eps?: number;
  minProbes?: number;
  maxProbes?: number;
  /** Convergence: relative change of every running mean between probes. */
  tol?: number;
  seed?: number;
}

export interface TraceResult {
  /** Estimated trace per group of variables. */
  traces: number[];
  probes: number;
  converged: boolean;
  /** Largest relative change of a running mean at the last probe. */
  lastChange: number;
}

/**
 * Hessian traces of a loss per group of variables. `gradients` evaluates ∇L at the variables'
 * current values (one tensor per variable, in order); `groups[i]` lists the variables of group i.
 * The variables are restored exactly afterwards.
 */
export function hutchinsonTraces(vars: tf.Variable[], groups: number[][], gradients: () => Tensor[], o: TraceOptions = {}): TraceResult {
  const eps = o.eps ?? 1e-3,
    minProbes = o.minProbes ?? 4,
    maxProbes = o.maxProbes ?? 64,
    tol = o.tol ?? 0.05;
  const rng = makeRng(o.seed ?? 1);
  const saved = vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  const steps = saved.map((w) => {
    let s = 0;
    for (const x of w) s += x * x;
    return eps * Math.max(Math.sqrt(s / Math.max(1, w.length)), 1e-8);
  });
  const sums = new Float64Array(groups.length);
  let prev: number[] | null = null,
    calm = 0,
    probes = 0,
    lastChange = Infinity;
  const setAll = (sign: number, v: Int8Array[]) =>
    vars.forEach((x, i) =>
      x.assign(
        tf.tensor(
          Float32Array.from(saved[i], (w, j) => w + sign * steps[i] * v[i][j]),
          x.shape,
        ),
      ),
    );
  const read = () => {
    const g = gradients();
    const out = g.map((t) => Float64Array.from(t.dataSync() as Float32Array));
    tf.dispose(g);
    return out;
  };
  try {
    while (probes < maxProbes) {
      const v = saved.map((w) => Int8Array.from(w, () => (rng.next() < 0.5 ? -1 : 1)));
      setAll(1, v);
      const gp = read();
      setAll(-1, v);
      const gm = read();
      probes++;
      groups.forEach((g, gi) => {
        let t = 0;
        for (const i of g) for (let j = 0; j < v[i].length; j++) t += (v[i][j] * (gp[i][j] - gm[i][j])) / (2 * steps[i]);
        sums[gi] += t;
      });
      const means = Array.from(sums, (s) => s / probes);
      if (prev) {
        lastChange = Math.max(...means.map((m, i) => Math.abs(m - prev![i]) / Math.max(Math.abs(m), 1e-12)));
        calm = lastChange < tol ? calm + 1 : 0;
        if (probes >= minProbes && calm >= 2) return { traces: means, probes, converged: true, lastChange };
      }
      prev = means;
    }
    return { traces: Array.from(sums, (s) => s / probes), probes, converged: false, lastChange };
  } finally {
    vars.forEach((x, i) => x.assign(tf.tensor(saved[i], x.shape)));
  }
}

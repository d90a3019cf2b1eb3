// The clustering step of product quantization as in "And the Bit Goes Down" (Stock et al.
// 2020): a layer's weights cut into subvectors of d entries share one codebook of k centroids,
// chosen to keep the layer's *outputs* rather than its weights: with x̃ the in-domain input
// blocks of d entries and Σ = x̃ᵀx̃ / n their second moment, the error of replacing v by c is
// (v − c)ᵀ Σ (v − c). The E-step assigns each subvector to the centroid of least such error, and
// the M-step's closed form is the plain mean of the assigned subvectors (every subvector sees
// the same x̃). With Σ = LLᵀ this is k-means on Lᵀv (seeded by k-means++), which is how it is computed; an empty
// cluster is repaired by splitting the cluster with the largest error. This file is the
// clustering only; the method around it (layer by layer, fine-tuning by distillation, storage)
// builds on it.
import { makeRng } from '../../data/rng.js';

/** Lower-triangular L with LLᵀ = Σ + ridge·mean(diag Σ)·I (the ridge keeps rank-poor inputs definite). */
export function cholesky(sigma: Float64Array, d: number, ridge = 1e-6): Float64Array {
  if (sigma.length !== d * d) throw new Error(`pq: Σ has ${sigma.length} entries, ${d}×${d} expected`);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += sigma[i * d + i];
  if (!(tr > 0)) throw new Error('pq: the input second moment is not positive definite (no in-domain activations?)');
  const eps = ridge * (tr / d);
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      let s = sigma[i * d + j] + (i === j ? eps : 0);
      for (let k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new Error('pq: the input second moment is not positive definite (no in-domain activations?)');
        L[i * d + i] = Math.sqrt(s);
      } else L[i * d + j] = s / L[j * d + j];
    }
  return L;
}

/** Second moment Σ = x̃ᵀx̃ / n of n input blocks of d entries. */
export function secondMoment(blocks: Float32Array, d: number): Float64Array {
  const n = blocks.length / d;
  if (!Number.isInteger(n) || n < 1) throw new Error(`pq: ${blocks.length} values are not whole blocks of ${d}`);
  const s = new Float64Array(d * d);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < d; i++) {
      const a = blocks[r * d + i];
      for (let j = 0; j <= i; j++) s[i * d + j] += a * blocks[r * d + j];
    }
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      s[i * d + j] /= n;
      s[j * d + i] = s[i * d + j];
    }
  return s;
}

export interface PqResult {
  /** k × d centroids in weight space. */
  centroids: Float32Array;
  /** Centroid index of every subvector. */
  assign: Uint32Array;
  /** Σ-weighted error (mean over subvectors) after each E-step (iterations + 1 of them, the last for the returned pair). */
  objective: number[];
  /** Empty clusters repaired, over all iterations. */
  repaired: number;
}

export interface PqOptions {
  k: number;
  iterations: number;
  seed: number;
}

/** EM on `vectors` (N × d subvectors) under the Σ-weighted error. */
export function pqCluster(vectors: Float32Array, d: number, sigma: Float64Array, o: PqOptions): PqResult {
  const N = vectors.length / d;
  if (!Number.isInteger(N) || N < 1) throw new Error(`pq: ${vectors.length} weights are not whole subvectors of ${d}`);
  if (!Number.isInteger(o.k) || o.k < 1) throw new Error(`pq: k must be a positive integer, got ${o.k}`);
  const k = Math.min(o.k, N);
  const L = cholesky(sigma, d);
  // u = Lᵀv: the weighted error is the Euclidean distance of the transformed vectors.
  const u = new Float64Array(N * d);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = i; j < d; j++) s += L[j * d + i] * vectors[n * d + j];
      u[n * d + i] = s;
    }
  // Initial centroids by k-means++ (each next one drawn with probability ∝ its squared distance
  // to the nearest chosen one), which keeps EM out of the poor local optima a uniform draw finds.
  const rng = makeRng(o.seed);
  const c = new Float64Array(k * d);
  const near = new Float64Array(N).fill(Infinity);
  let chosen = rng.int(N);
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < d; t++) c[j * d + t] = u[chosen * d + t];
    let total = 0;
    for (let n = 0; n < N; n++) {
      let s2 = 0;
      for (let t = 0; t < d; t++) {
        const e = u[n * d + t] - c[j * d + t];
        s2 += e * e;
      }
      near[n] = Math.min(near[n], s2);
      total += near[n];
    }
    if (j + 1 === k) break;
    if (total > 0) {
      let r = rng.next() * total;
      chosen = N - 1;
      for (let n = 0; n < N; n++) if ((r -= near[n]) < 0) ((chosen = n), (n = N));
    } else chosen = rng.int(N); // every subvector already has a centroid of its own
  }
  const assign = new Uint32Array(N);
  const dist = new Float64Array(N);
  const objective: number[] = [];
  let repaired = 0;
  const eStep = () => {
    let total = 0;
    for (let n = 0; n < N; n++) {
      let best = 0,
        bd = Infinity;
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) {
          const e = u[n * d + t] - c[j * d + t];
          s += e * e;
        }
        if (s < bd) ((bd = s), (best = j));
      }
      assign[n] = best;
      dist[n] = bd;
      total += bd;
    }
    objective.push(total / N);
  };
  for (let it = 0; it < o.iterations; it++) {
    eStep();
    // M-step: means; empty clusters take half of the cluster with the largest total error.
    const count = new Uint32Array(k),
      err = new Float64Array(k);
    c.fill(0);
    for (let n = 0; n < N; n++) {
      const j = assign[n];
      count[j]++;
      err[j] += dist[n];
      for (let t = 0; t < d; t++) c[j * d + t] += u[n * d + t];
    }
    for (let j = 0; j < k; j++) if (count[j]) for (let t = 0; t < d; t++) c[j * d + t] /= count[j];
    for (let j = 0; j < k; j++) {
      if (count[j]) continue;
      let big = 0;
      for (let m = 1; m < k; m++) if (err[m] > err[big]) big = m;
      if (count[big] < 2) continue;
      // Split: the new centroid at the worst-fitted member of the big cluster.
      let far = -1;
      for (let n = 0; n < N; n++) if (assign[n] === big && (far < 0 || dist[n] > dist[far])) far = n;
      for (let t = 0; t < d; t++) c[j * d + t] = u[far * d + t];
      err[big] = 0;
      repaired++;
    }
  }
  // The assignment that goes with the final centroids.
  eStep();
  // Back to weight space: v = L⁻ᵀu, by back substitution (in float64).
  const v = new Float64Array(k * d);
  for (let j = 0; j < k; j++)
    for (let i = d - 1; i >= 0; i--) {
      let s = c[j * d + i];
      for (let t = i + 1; t < d; t++) s -= L[t * d + i] * v[j * d + t];
      v[j * d + i] = s / L[i * d + i];
    }
  return { centroids: Float32Array.from(v), assign, objective, repaired };
}

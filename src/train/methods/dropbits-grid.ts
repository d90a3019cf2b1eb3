// DropBits' per-weight arithmetic (semi-relaxed quantization, Lee et al. 2021; SPEC.md §3). A
// layer's weights live on the symmetric narrow int grid of `maxBits` bits, g_j = α_c·q_j with
// q_j ∈ [−Q, Q], Q = 2^(maxBits−1) − 1. The grid points are grouped by the lowest bit width that
// has them: at b bits the grid is every 2^(maxBits−b)-th point up to ±(2^(b−1)−1)·2^(maxBits−b),
// so group 0 is the minBits grid and group k the points that appear at minBits + k bits.
// Dropping "bit k" of a weight removes groups k and above: the weight then sits on the coarser
// grid of minBits + k − 1 bits. Per weight and bit a relaxed Bernoulli mask m_k (binary concrete)
// decides: the forward uses the hard mask m_k > ½ (a Bernoulli draw with keep probability
// σ(θ_k)); the backward uses the soft masks inside the grid-point probabilities
//   π_j = σ((g_j + α/2 − x)/τ) − σ((g_j − α/2 − x)/τ),  τ = κ·α,
//   π̃_j = M_j·π_j / Σ_i M_i·π_i,  M_j = Π_{k ≤ group(j)} m_k,
// and the multi-class straight-through estimator: the forward is the one-hot argmax (the nearest
// kept point), the backward that of the expectation Σ_j π̃_j·g_j, which gives the weight, the
// step α and the keep logits θ their gradients. native/src/dropbits.cc runs the same; these are
// the portable versions and the reference the tests hold it to.
import { nativeKernels } from '../../engine/state.js';
import { quantizeCode, dequantize } from '../../quant/uniform.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface DropbitsKernels {
  dropbitsForward(
    x: Float32Array,
    alpha: Float32Array,
    maxBits: number,
    minBits: number,
    masks: Float32Array | null,
    out: Float32Array,
  ): void;
  dropbitsBackward(
    x: Float32Array,
    alpha: Float32Array,
    maxBits: number,
    minBits: number,
    masks: Float32Array,
    gy: Float32Array,
    kappa: number,
    concreteTemp: number,
    gx: Float32Array,
    galpha: Float64Array,
    gtheta: Float64Array,
  ): void;
  dropbitsSample(theta: Float32Array, concreteTemp: number, seed: number, out: Float32Array): void;
}
const dropbitsKernels = nativeKernels<DropbitsKernels>(['dropbitsForward', 'dropbitsBackward', 'dropbitsSample']);

/** The grid of a layer in units of α, and each point's group. */
export interface DropGrid {
  maxBits: number;
  minBits: number;
  /** Droppable bits: maxBits − minBits (mask entries per weight). */
  groups: number;
  q: Int32Array;
  group: Uint8Array;
}

export function dropGrid(maxBits: number, minBits: number): DropGrid {
  if (!Number.isInteger(maxBits) || !Number.isInteger(minBits) || minBits < 2 || maxBits < minBits || maxBits > 8)
    throw new Error(`dropbits: bit widths must satisfy 2 <= minBits <= maxBits <= 8, got minBits ${minBits}, maxBits ${maxBits}`);
  const Q = 2 ** (maxBits - 1) - 1;
  const q = new Int32Array(2 * Q + 1),
    group = new Uint8Array(2 * Q + 1);
  for (let j = 0; j < q.length; j++) {
    const v = j - Q;
    q[j] = v;
    let b = minBits;
    for (; b < maxBits; b++) {
      const stride = 2 ** (maxBits - b);
      if (v % stride === 0 && Math.abs(v) <= (2 ** (b - 1) - 1) * stride) break;
    }
    group[j] = b - minBits;
  }
  return { maxBits, minBits, groups: maxBits - minBits, q, group };
}

/** Bit width of one weight from its masks: minBits plus the leading kept bits. */
function weightBits(g: DropGrid, m: Float32Array, at: number): number {
  let b = g.minBits;
  for (let k = 0; k < g.groups && m[at + k] > 0.5; k++) b++;
  return b;
}

/**
 * The hard forward: every weight rounded to the int grid of its own bit width (the nearest kept
 * point), step α·2^(maxBits−b), exactly as the int format quantizes (half to even, float32).
 * `masks` holds `groups` soft masks per weight (null: every bit kept).
 */
export function dropForward(x: Float32Array, alpha: Float32Array, g: DropGrid, masks: Float32Array | null, out: Float32Array): void {
  const n = dropbitsKernels();
  if (n) return n.dropbitsForward(x, alpha, g.maxBits, g.minBits, masks, out);
  const C = alpha.length;
  for (let i = 0; i < x.length; i++) {
    const b = masks ? weightBits(g, masks, i * g.groups) : g.maxBits;
    const s = alpha[C === 1 ? 0 : i % C] * 2 ** (g.maxBits - b),
      qm = 2 ** (b - 1) - 1;
    out[i] = dequantize(quantizeCode(x[i], s, 0, -qm, qm), s, 0);
  }
}

/** Gradients of one backward pass: the weights' (per element), α's (per channel) and θ's (per bit). */
export interface DropGrads {
  gx: Float32Array;
  galpha: Float64Array;
  gtheta: Float64Array;
}

/** σ(u), without overflow for large |u|. */
export const sigmoid = (u: number) => (u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u)));

/**
 * The cell probabilities of one weight without cancellation: with z_k = z_0 + k/κ the boundary
 * arguments (σ(z_k) the probability of lying left of boundary k), E_k = e^{−z_k} = E_0·r^k,
 * r = e^{−1/κ}: t_k = σ(z_k) = 1/(1+E_k), π_j = t_{j+1} − t_j = E_j(1−r)·t_j·t_{j+1} (never the
 * difference of two numbers near 1, which far left of the grid would be rounding noise) and
 * dt_k = σ'(z_k) = E_k·t_k². One exp per weight. Where E_0 overflows (far right of the grid) the
 * t_k are tiny and are taken one by one.
 */
export function cellProbabilities(z0: number, kappa: number, t: Float64Array, dt: Float64Array, pi: Float64Array): void {
  const L = pi.length,
    r = Math.exp(-1 / kappa);
  if (z0 > -700) {
    let e = Math.exp(-z0),
      prev = 0;
    for (let k = 0; k <= L; k++, prev = e, e *= r) {
      t[k] = 1 / (1 + e);
      dt[k] = e * t[k] * t[k];
      if (k > 0) pi[k - 1] = prev * (1 - r) * t[k - 1] * t[k];
    }
    return;
  }
  for (let k = 0; k <= L; k++) {
    t[k] = sigmoid(z0 + k / kappa);
    dt[k] = t[k] * (1 - t[k]);
    if (k > 0) pi[k - 1] = t[k] - t[k - 1];
  }
}

/**
 * The backward of the forward above for the upstream gradient gy (∂L/∂ŵ): multi-class STE
 * through the masked, normalised grid-point probabilities. `concreteTemp` is the binary
 * concrete temperature λ of the masks (∂m/∂θ = m(1−m)/λ).
 */
export function dropBackward(
  x: Float32Array,
  alpha: Float32Array,
  g: DropGrid,
  masks: Float32Array,
  gy: Float32Array,
  kappa: number,
  concreteTemp: number,
): DropGrads {
  const C = alpha.length,
    G = g.groups,
    L = g.q.length;
  const out: DropGrads = { gx: new Float32Array(x.length), galpha: new Float64Array(C), gtheta: new Float64Array(G) };
  const n = dropbitsKernels();
  if (n) {
    n.dropbitsBackward(x, alpha, g.maxBits, g.minBits, masks, gy, kappa, concreteTemp, out.gx, out.galpha, out.gtheta);
    return out;
  }
  const t = new Float64Array(L + 1),
    dt = new Float64Array(L + 1),
    M = new Float64Array(L),
    pi = new Float64Array(L);
  for (let i = 0; i < x.length; i++) {
    const c = C === 1 ? 0 : i % C,
      a = alpha[c],
      tau = kappa * a,
      xi = x[i];
    // σ at the L+1 cell boundaries α(q_0 − ½ + k), shared by neighbouring cells.
    cellProbabilities((a * (g.q[0] - 0.5) - xi) / tau, kappa, t, dt, pi);
    let S = 0,
      num = 0;
    for (let j = 0; j < L; j++) {
      let mj = 1;
      for (let k = 0; k < g.group[j]; k++) mj *= masks[i * G + k];
      M[j] = mj;
      S += mj * pi[j];
      num += mj * pi[j] * a * g.q[j];
    }
    // The hard forward's point, in units of α (its coarser step included).
    const b = weightBits(g, masks, i * G),
      stride = 2 ** (g.maxBits - b),
      qm = 2 ** (b - 1) - 1;
    const qHard = quantizeCode(xi, a * stride, 0, -qm, qm) * stride;
    out.galpha[c] += gy[i] * qHard;
    if (!(S > 1e-300)) continue; // far outside the grid: every probability underflowed, no gradient
    const gbar = num / S;
    let gx = 0,
      ga = 0;
    for (let j = 0; j < L; j++) {
      const aj = (gy[i] * (a * g.q[j] - gbar)) / S; // ∂L/∂s_j, s_j = M_j·π_j
      const dpi = dt[j + 1] - dt[j];
      gx += aj * M[j] * (-dpi / tau);
      ga += aj * M[j] * ((dpi * xi) / (kappa * a * a));
      for (let k = 0; k < g.group[j]; k++) {
        const mk = masks[i * G + k];
        out.gtheta[k] += (aj * pi[j] * M[j] * (1 - mk)) / concreteTemp;
      }
    }
    out.gx[i] = gx;
    out.galpha[c] += ga;
  }
  return out;
}

/** murmur3's 32-bit finaliser: a well-mixed hash of a counter (the same in dropbits.cc). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in (0, 1) for mask entry `idx` of the draw `seed`: counter-based, so threads need no shared state. */
export function maskUniform(seed: number, idx: number): number {
  const h = fmix32((fmix32((Math.imul(idx, 0x9e3779b1) ^ seed) >>> 0) + seed) >>> 0);
  return ((h >>> 8) + 0.5) / 16777216;
}

/**
 * Draws the relaxed Bernoulli masks of one step: m = σ((θ_k + log u − log(1−u))/λ) for each of the
 * n weights and each bit k, u from the counter hash of (seed, weight·groups + k).
 */
export function sampleMasks(theta: Float64Array, n: number, concreteTemp: number, seed: number, out: Float32Array): void {
  const G = theta.length;
  if (out.length !== n * G) throw new Error(`dropbits: mask array holds ${out.length} values, expected ${n * G}`);
  if (G === 0) return; // nothing droppable at minBits
  const nat = dropbitsKernels();
  if (nat) return nat.dropbitsSample(Float32Array.from(theta), concreteTemp, seed >>> 0, out);
  for (let i = 0; i < n * G; i++) {
    const u = maskUniform(seed >>> 0, i);
    out[i] = sigmoid((Math.fround(theta[i % G]) + Math.log(u / (1 - u))) / concreteTemp);
  }
}

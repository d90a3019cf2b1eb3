// MPQ's per-weight bookkeeping (Kim et al., SPEC.md §3): the base-grid code of every weight
// after each step and an EMA of how often it switches to a contiguous level, and the
// threshold-aware learning rate. Native kernels in native/src/methods.cc do the work; these
// TypeScript versions are the reference and the path without the addon.
import { nativeKernels } from '../../engine/state.js';
import { divF32, roundHalfEven } from '../../quant/numeric.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface MpqKernels {
  mpqTrack(
    w: Float32Array,
    scale: Float32Array,
    c: number,
    qmax: number,
    codes: Int8Array,
    freq: Float32Array,
    momentum: number,
    init: number,
  ): number;
  mpqLrScale(
    w: Float32Array,
    g: Float32Array,
    out: Float32Array,
    scale: Float32Array,
    c: number,
    qmax: number,
    flags: Uint8Array | null,
    delta: number,
    beta: number,
  ): number;
}
const mpqKernels = nativeKernels<MpqKernels>(['mpqTrack', 'mpqLrScale']);

/**
 * Records the codes k = clamp(rhe(w/Δ), ±qmax) (channels along the last axis) and, unless
 * `init`, updates freq ← (1 - m)·freq + m·[|k - previous| = 1]. Returns the number of switches.
 */
export function trackCodes(
  w: Float32Array,
  scale: Float32Array,
  qmax: number,
  codes: Int8Array,
  freq: Float32Array,
  momentum: number,
  init: boolean,
): number {
  const C = scale.length;
  const n = mpqKernels();
  if (n) return n.mpqTrack(w, scale, C, qmax, codes, freq, momentum, init ? 1 : 0);
  let switches = 0;
  const m = Math.fround(momentum),
    keep = Math.fround(1 - m);
  for (let i = 0; i < w.length; i++) {
    const k = Math.max(-qmax, Math.min(qmax, roundHalfEven(divF32(w[i], scale[C === 1 ? 0 : i % C]))));
    if (!init) {
      const d = k - codes[i];
      const s = d === 1 || d === -1 ? 1 : 0;
      freq[i] = Math.fround(Math.fround(keep * freq[i]) + Math.fround(m * s));
      switches += s;
    }
    codes[i] = k;
  }
  return switches;
}

/**
 * Threshold-aware learning rate: the gradient of every weight within δ·Δ of a decision
 * threshold of its grid (midpoint of two levels; half-step grid when flagged) is scaled by β.
 * Returns the scaled gradient and how many weights were scaled.
 */
export function scaleNearThresholds(
  w: Float32Array,
  g: Float32Array,
  scale: Float32Array,
  qmax: number,
  flags: Uint8Array | null,
  delta: number,
  beta: number,
  out: Float32Array,
): number {
  const C = scale.length;
  const n = mpqKernels();
  if (n) return n.mpqLrScale(w, g, out, scale, C, qmax, flags, delta, beta);
  const d = Math.fround(delta),
    b = Math.fround(beta);
  let scaled = 0;
  for (let i = 0; i < w.length; i++) {
    const s = scale[C === 1 ? 0 : i % C];
    const fine = flags !== null && flags[i] === 1;
    const step = fine ? Math.fround(s / 2) : s;
    const v = divF32(w[i], step);
    const dist = Math.abs(Math.fround(Math.fround(v - Math.floor(v)) - 0.5));
    const near = Math.abs(v) < (fine ? 2 * qmax : qmax) && Math.fround(dist * step) < Math.fround(d * s);
    out[i] = near ? Math.fround(b * g[i]) : g[i];
    if (near) scaled++;
  }
  return scaled;
}

// Helpers for comparing native kernels with stock tfjs: run the same computation twice, with
// native kernels on and off, and measure the relative error of every output.
import { tf, type Tensor } from '../../src/engine/tf.js';
import { initEngine } from '../../src/engine/setup.js';
import { setNativeKernels } from '../../src/engine/override.js';
import { activeNative } from '../../src/engine/state.js';

export async function engine(): Promise<boolean> {
  await initEngine({ quiet: true });
  return activeNative() !== null;
}

/** Runs f with native kernels on or off (restoring the previous setting). */
export function withNative<T>(on: boolean, f: () => T): T {
  const old = setNativeKernels(on);
  try {
    return f();
  } finally {
    setNativeKernels(old);
  }
}

/** max |a - b| / max(max |b|, 1e-6) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0,
    s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : Math.max(m, d);
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(s, 1e-6);
}

/** Runs f with native kernels and with stock tfjs; returns [native, stock] outputs as arrays. */
export function nativeVsStock(f: () => Tensor[]): { native: Float32Array[]; stock: Float32Array[]; shapes: number[][] } {
  const run = (on: boolean) => {
    const old = setNativeKernels(on);
    try {
      return tf.tidy(() => f().map((t) => ({ v: Float32Array.from(t.dataSync() as Float32Array), s: t.shape })));
    } finally {
      setNativeKernels(old);
    }
  };
  const n = run(true),
    s = run(false);
  return { native: n.map((x) => x.v), stock: s.map((x) => x.v), shapes: s.map((x) => x.s) };
}

/** Worst relative error across outputs (and a shape check). */
export function worstError(f: () => Tensor[]): number {
  const r = nativeVsStock(f);
  let w = 0;
  r.native.forEach((a, i) => (w = Math.max(w, relErr(a, r.stock[i]))));
  return w;
}

/** Deterministic pseudo-random tensor (values in [-1, 1)). */
export function rand(shape: number[], seed: number): Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

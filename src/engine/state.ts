// Whether native kernels are in use right now: the addon loaded, the engine initialised on the
// cpu backend, and not switched off (tests switch it off to compare with stock tfjs).
import { bindKernels, type NativeAddon } from './native.js';
import { nativeKernelsEnabled } from './override.js';
import { tf } from './tf.js';

let addon: NativeAddon | null = null;

export function setActiveAddon(a: NativeAddon | null): void {
  addon = a;
}

export function activeNative(): NativeAddon | null {
  return addon && nativeKernelsEnabled() && tf.getBackend() === 'cpu' ? addon : null;
}

/**
 * A module's native kernels, declared where they are used: `kernels()` gives them on the active
 * addon (checked once per addon), or null when native kernels are off.
 */
export function nativeKernels<K extends object>(names: readonly (keyof K & string)[]): () => K | null {
  let bound: { addon: NativeAddon; kernels: K } | null = null;
  return () => {
    const a = activeNative();
    if (!a) return null;
    if (bound?.addon !== a) bound = { addon: a, kernels: bindKernels<K>(a, names) };
    return bound.kernels;
  };
}

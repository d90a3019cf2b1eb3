// Whether native kernels are in use right now: the addon loaded, the engine initialised on the
// cpu backend, and not switched off (tests switch it off to compare with stock tfjs).
import type { NativeAddon } from './native.js';
import { nativeKernelsEnabled } from './override.js';
import { tf } from './tf.js';

let addon: NativeAddon | null = null;

export function setActiveAddon(a: NativeAddon | null): void {
  addon = a;
}

export function activeNative(): NativeAddon | null {
  return addon && nativeKernelsEnabled() && tf.getBackend() === 'cpu' ? addon : null;
}

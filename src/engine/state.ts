// Whether native kernels are in use by the training engine right now: the addon loaded, not
// switched off (tests switch it off to compare with stock tfjs), and tfjs on its cpu backend
// (the kernels read and write the cpu backend's arrays). The packed-model runtime reads the addon
// through addon-state.ts alone, without tfjs.
import { activeAddon, addonKernels, setActiveAddon } from './addon-state.js';
import type { NativeAddon } from './native.js';
import { tf } from './tf.js';

export { setActiveAddon };

const onCpu = () => tf.getBackend() === 'cpu';

export function activeNative(): NativeAddon | null {
  return onCpu() ? activeAddon() : null;
}

/** A training module's native kernels, declared where they are used (null off the cpu backend or without the addon). */
export function nativeKernels<K extends object>(names: readonly (keyof K & string)[]): () => K | null {
  return addonKernels<K>(names, onCpu);
}

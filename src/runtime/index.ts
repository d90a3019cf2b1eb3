// lowbit/runtime: load and run a packed model (.lowbit) with the integer runtime, and nothing
// else: no tfjs, no Node built-ins, so the same module runs in Node, browsers and Web Workers.
// In Node with the native addon loaded (by the full package's initEngine), the runtime uses its
// kernels; everywhere else it runs its TypeScript kernels.
//
//   import { loadLowbit } from 'lowbit/runtime';
//   const model = loadLowbit(new Uint8Array(await (await fetch('model.lowbit')).arrayBuffer()));
//   const logits = model.predict(images, n); // n normalised NHWC images, float32
export { loadLowbit, LowbitModel } from '../deploy/runtime/model.js';
export { readPacked, type PackedModel } from '../deploy/read.js';
export { PackedFormatError } from '../deploy/container.js';
export type { Manifest } from '../deploy/manifest.js';

import { activeAddon } from '../engine/addon-state.js';
import { runtimeKernels as kernelsHere } from '../deploy/runtime/wasm-kernels.js';
export { setRelaxedSimd, setWasmKernels } from '../deploy/runtime/wasm-kernels.js';
export { threadStats, threadsAvailable } from '../deploy/runtime/wasm-threads.js';

/**
 * Which kernels the integer runtime uses here: 'native' (Node with the addon), 'wasm-relaxed'
 * (WebAssembly relaxed SIMD), 'wasm' (WebAssembly SIMD) or 'typescript'.
 */
export function runtimeKernels(): 'native' | 'wasm-relaxed' | 'wasm' | 'typescript' {
  return kernelsHere(activeAddon() !== null);
}

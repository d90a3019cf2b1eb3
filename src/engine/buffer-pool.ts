// Recycles the float32 buffers of native kernel outputs within training steps.
//
// A training step allocates and drops hundreds of MB of tensors; left to V8, that external
// memory triggers a full garbage collection every few steps (measured: ~100 ms per ResNet-20
// step). While a pool scope is open, buffers allocated here are remembered, and when tfjs
// disposes the tensor that holds one, it goes back to the pool instead of to the GC.
// Only buffers allocated by `alloc` inside a scope are recycled, and only when the tensor
// holding them is disposed inside a scope; kernels that use `alloc` write every element.
import { tf } from './tf.js';
import type { CpuBackend } from './override.js';

const owned = new WeakSet<Float32Array>();
const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;
let depth = 0;
let hooked = false;
let enabled = true;

/** Turns recycling on or off (tests compare both); returns the previous setting. */
export function setBufferPoolEnabled(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  if (!on) clearBufferPool();
  return old;
}
/** Upper bound on idle pooled memory; beyond it, released buffers go to the GC. */
const maxPooledBytes = 2 ** 31;

/** A float32 buffer of length n: recycled inside a pool scope, else fresh (zeroed). */
export function alloc(n: number): Float32Array {
  if (depth === 0) return new Float32Array(n);
  const list = free.get(n);
  const a = list?.pop();
  if (a) {
    pooledBytes -= a.byteLength;
    return a;
  }
  const b = new Float32Array(n);
  owned.add(b);
  return b;
}

function release(a: Float32Array): void {
  if (pooledBytes + a.byteLength > maxPooledBytes) return;
  let list = free.get(a.length);
  if (!list) free.set(a.length, (list = []));
  list.push(a);
  pooledBytes += a.byteLength;
}

function hook(): void {
  if (hooked) return;
  const backend = tf.backend() as unknown as CpuBackend & {
    disposeData(dataId: object, force?: boolean): boolean;
    data: { get(id: object): { values: unknown } | undefined; has(id: object): boolean };
  };
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean) => {
    const values = depth > 0 ? backend.data.get(dataId)?.values : undefined;
    const done = dispose(dataId, force);
    if (values instanceof Float32Array && owned.has(values) && !backend.data.has(dataId)) release(values);
    return done;
  };
  hooked = true;
}

/** Runs f with buffer recycling on (only on the cpu backend). */
export function withBufferPool<T>(f: () => T): T {
  if (!enabled || tf.getBackend() !== 'cpu') return f();
  hook();
  depth++;
  try {
    return f();
  } finally {
    depth--;
  }
}

/** Drops every pooled buffer (e.g. after training, before inference on other shapes). */
export function clearBufferPool(): void {
  free.clear();
  pooledBytes = 0;
}

export function bufferPoolStats(): { pooledBytes: number; sizes: number } {
  return { pooledBytes, sizes: free.size };
}

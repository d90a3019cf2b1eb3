// Replaces stock cpu kernels with native ones while keeping the stock kernel as the fallback
// for inputs a native kernel does not handle (other dtypes, layouts, broadcasts) and for
// tests, which switch native kernels off to compare against stock tfjs.
import { tf, type TensorInfo } from './tf.js';
import { nativeKernelsEnabled, setNativeKernels } from './addon-state.js';

/** The parts of tfjs's MathBackendCPU that kernels use. */
export interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
}

export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: CpuBackend;
  attrs: Record<string, unknown>;
}

/** A native implementation; returning null defers to the stock kernel. */
export type NativeImpl = (args: KernelArgs) => TensorInfo | TensorInfo[] | null;

const originals = new Map<string, tf.KernelConfig>();

export { nativeKernelsEnabled, setNativeKernels };

export function override(kernelName: string, impl: NativeImpl): void {
  const stock = tf.getKernel(kernelName, 'cpu');
  if (!stock) throw new Error(`lowbit: no stock cpu kernel '${kernelName}' to override`);
  if (!originals.has(kernelName)) originals.set(kernelName, stock);
  const original = originals.get(kernelName)!;
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({
    ...original,
    kernelFunc: ((args: KernelArgs) => {
      const out = nativeKernelsEnabled() ? impl(args) : null;
      return out ?? (original.kernelFunc as unknown as NativeImpl)(args);
    }) as unknown as tf.KernelFunc,
  });
}

/** Registers a lowbit-only kernel (no stock counterpart). */
export function registerOwn(kernelName: string, impl: (args: KernelArgs) => TensorInfo | TensorInfo[]): void {
  if (tf.getKernel(kernelName, 'cpu')) tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ kernelName, backendName: 'cpu', kernelFunc: impl as unknown as tf.KernelFunc });
}

/** The float32 values of a tensor on the cpu backend, or null for other dtypes. */
export function f32(backend: CpuBackend, t: TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}

export function i32(backend: CpuBackend, t: TensorInfo | undefined): Int32Array | null {
  if (!t || t.dtype !== 'int32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Int32Array ? v : null;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// BatchMatMul and _FusedMatMul (bias + ReLU) on OpenBLAS sgemm.
import type { TensorInfo } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { bindKernels } from '../addon-state.js';
import { f32, override, sizeOf, type KernelArgs } from '../override.js';
import { alloc } from '../buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface MatmulKernels {
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array, bias: Float32Array | null, act: number): void;
}
const MATMUL_KERNELS: readonly (keyof MatmulKernels)[] = ['matmul'];

function matmul(n: MatmulKernels, args: KernelArgs, fused: boolean): TensorInfo | null {
  const { backend, attrs } = args;
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const av = f32(backend, a),
    bv = f32(backend, b);
  if (!a || !b || !av || !bv || a.shape.length < 2 || b.shape.length < 2 || preluActivationWeights) return null;
  const act = fused ? ((attrs.activation as string | undefined) ?? 'linear') : 'linear';
  if (act !== 'linear' && act !== 'relu') return null;
  const tA = Boolean(attrs.transposeA),
    tB = Boolean(attrs.transposeB);
  const ra = a.shape.length,
    rb = b.shape.length;
  const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) return null;
  const batchShapeA = a.shape.slice(0, -2),
    batchShapeB = b.shape.slice(0, -2);
  const batchA = sizeOf(batchShapeA),
    batchB = sizeOf(batchShapeB);
  // Only equal batches or a broadcast single matrix; anything else goes to stock tfjs.
  let outBatch: number[];
  if (batchA === batchB && batchShapeA.join() === batchShapeB.join()) outBatch = batchShapeA;
  else if (batchB === 1 && batchShapeB.length <= batchShapeA.length) outBatch = batchShapeA;
  else if (batchA === 1 && batchShapeA.length <= batchShapeB.length) outBatch = batchShapeB;
  else return null;
  let biasv: Float32Array | null = null;
  if (fused && bias) {
    biasv = f32(backend, bias);
    if (!biasv || biasv.length !== N) return null;
  }
  const shape = [...outBatch, M, N];
  const out = alloc(sizeOf(shape));
  n.matmul(av, bv, out, Int32Array.from([batchA, batchB, M, N, K, tA ? 1 : 0, tB ? 1 : 0]), biasv, act === 'relu' ? 1 : 0);
  return backend.makeTensorInfo(shape, 'float32', out);
}

export function registerMatmulKernels(addon: NativeAddon): void {
  const n = bindKernels<MatmulKernels>(addon, MATMUL_KERNELS);
  override('BatchMatMul', (a) => matmul(n, a, false));
  override('_FusedMatMul', (a) => matmul(n, a, true));
}

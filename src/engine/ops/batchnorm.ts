// Batch normalization over the last axis with an optional fused ReLU. Training mode returns
// the batch statistics too (for the running averages). The native path is one fused kernel
// each way with the exact gradient; the reference path is plain tf ops (autograd).
import { tf, type Tensor } from '../tf.js';
import { nativeKernels } from '../state.js';
import { customOp } from './custom-op.js';
import { alloc } from '../buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface BatchNormKernels {
  bnTrainForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    c: number,
    eps: number,
    relu: number,
  ): void;
  /** train=1: gradient through the batch statistics; 0: fixed (running) statistics. */
  bnBackward(
    dy: Float32Array,
    x: Float32Array,
    y: Float32Array | null,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    c: number,
    eps: number,
    train: number,
  ): void;
  bnInference(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    y: Float32Array,
    c: number,
    eps: number,
    relu: number,
  ): void;
}
const batchNormKernels = nativeKernels<BatchNormKernels>(['bnTrainForward', 'bnBackward', 'bnInference']);

export interface BatchNormTrainResult {
  y: Tensor;
  /** Batch mean per channel (not part of the gradient graph). */
  mean: Tensor;
  /** Biased batch variance per channel (not part of the gradient graph). */
  variance: Tensor;
}

function values(t: Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * The native op for either mode: `forward` fills y (and, in training, the statistics) from
 * x, gamma, beta; the backward kernel reads the statistics `stats()` returns at that time.
 * Gradients go to x, gamma and beta; statistics are constants of the op.
 */
function nativeBatchNorm(
  n: BatchNormKernels,
  c: number,
  eps: number,
  relu: boolean,
  train: boolean,
  forward: (x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array) => void,
  stats: () => { mean: Float32Array; variance: Float32Array },
): (x: Tensor, gamma: Tensor, beta: Tensor) => Tensor {
  return customOp(([xi, g, b], save) => {
    const xv = values(xi);
    const y = alloc(xv.length);
    forward(xv, values(g), values(b), y);
    const yt = tf.tensor(y, xi.shape, 'float32');
    save([xi, g, yt]);
    return {
      value: yt,
      gradFunc: (dy, saved) => {
        const [sx, sg, sy] = saved;
        const dx = alloc(xv.length),
          dgamma = alloc(c),
          dbeta = alloc(c);
        const { mean, variance } = stats();
        n.bnBackward(
          values(dy),
          values(sx),
          relu ? values(sy) : null,
          values(sg),
          mean,
          variance,
          dx,
          dgamma,
          dbeta,
          c,
          eps,
          train ? 1 : 0,
        );
        return [tf.tensor(dx, sx.shape, 'float32'), tf.tensor(dgamma, sg.shape, 'float32'), tf.tensor(dbeta, sg.shape, 'float32')];
      },
    };
  });
}

/** Reference: tf.moments + arithmetic, differentiated by tfjs autograd. */
export function batchNormTrainReference(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, relu: boolean): BatchNormTrainResult {
  const axes = x.shape.map((_, i) => i).slice(0, -1);
  const { mean, variance } = tf.moments(x, axes);
  let y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  if (relu) y = tf.relu(y);
  return { y, mean, variance };
}

export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, relu: boolean): BatchNormTrainResult {
  const n = batchNormKernels();
  if (!n || x.dtype !== 'float32') return batchNormTrainReference(x, gamma, beta, eps, relu);
  const c = x.shape[x.shape.length - 1];
  const mean = new Float32Array(c),
    variance = new Float32Array(c);
  const op = nativeBatchNorm(
    n,
    c,
    eps,
    relu,
    true,
    (xv, gv, bv, y) => n.bnTrainForward(xv, gv, bv, y, mean, variance, c, eps, relu ? 1 : 0),
    () => ({ mean, variance }),
  );
  const y = op(x, gamma, beta);
  return { y, mean: tf.tensor1d(mean), variance: tf.tensor1d(variance) };
}

/** Reference inference mode: tf.batchNorm (+ ReLU), differentiated by tfjs autograd. */
export function batchNormInferReference(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mean: Tensor,
  variance: Tensor,
  eps: number,
  relu: boolean,
): Tensor {
  const y = tf.batchNorm(x, mean, variance, beta, gamma, eps);
  return relu ? tf.relu(y) : y;
}

/**
 * Inference mode: normalize with given (running) statistics. Differentiable in x, gamma and
 * beta (fine-tuning with frozen statistics); the statistics themselves get no gradient.
 */
export function batchNormInfer(x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: number, relu: boolean): Tensor {
  const n = batchNormKernels();
  if (!n || x.dtype !== 'float32') return batchNormInferReference(x, gamma, beta, mean, variance, eps, relu);
  const c = x.shape[x.shape.length - 1];
  const stats = { mean: values(mean), variance: values(variance) };
  const op = nativeBatchNorm(
    n,
    c,
    eps,
    relu,
    false,
    (xv, gv, bv, y) => n.bnInference(xv, gv, bv, stats.mean, stats.variance, y, c, eps, relu ? 1 : 0),
    () => stats,
  );
  return op(x, gamma, beta);
}

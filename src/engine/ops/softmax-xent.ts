// Mean softmax cross-entropy over integer class labels, fused on the native path.
import { tf, type Tensor } from '../tf.js';
import { nativeKernels } from '../state.js';
import { customOp } from './custom-op.js';
import { alloc } from '../buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface SoftmaxXentKernels {
  softmaxXentForward(logits: Float32Array, labels: Int32Array, probs: Float32Array, b: number, k: number): number;
  softmaxXentBackward(probs: Float32Array, labels: Int32Array, dlogits: Float32Array, b: number, k: number, dy: number): void;
}
const softmaxXentKernels = nativeKernels<SoftmaxXentKernels>(['softmaxXentForward', 'softmaxXentBackward']);

/** Reference: log-softmax and a one-hot gather, differentiated by tfjs autograd. */
export function softmaxCrossEntropyReference(logits: Tensor, labels: Tensor): Tensor {
  const k = logits.shape[1] as number;
  const onehot = tf.oneHot(labels as tf.Tensor1D, k);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
}

/**
 * Mean cross-entropy of `logits` [B, K] against `labels` [B] (int32 class indices).
 * The gradient flows to the logits only.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0])
    throw new Error(`softmaxCrossEntropy: expected logits [B, K] and labels [B], got [${logits.shape}] and [${labels.shape}]`);
  if (labels.dtype !== 'int32') throw new Error(`softmaxCrossEntropy: labels must be int32, got ${labels.dtype}`);
  const n = softmaxXentKernels();
  if (!n) return softmaxCrossEntropyReference(logits, labels);
  const [b, k] = logits.shape as [number, number];
  const lab = labels.dataSync() as Int32Array;
  const probs = new Float32Array(b * k);
  const op = customOp(([z], save) => {
    const loss = n.softmaxXentForward(z.dataSync() as Float32Array, lab, probs, b, k);
    save([z]);
    return {
      value: tf.scalar(loss),
      gradFunc: (dy) => {
        const d = alloc(b * k);
        n.softmaxXentBackward(probs, lab, d, b, k, dy.dataSync()[0]);
        return [tf.tensor(d, [b, k], 'float32')];
      },
    };
  });
  return op(logits);
}

// Accuracy and mean loss of a model on a split, in inference mode (running BN statistics).
import { tf } from '../engine/tf.js';
import { withBufferPool } from '../engine/buffer-pool.js';
import { softmaxCrossEntropy } from '../engine/ops/softmax-xent.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import type { LabeledImages } from '../data/cifar.js';
import type { DatasetInfo } from '../data/datasets.js';

export interface EvalResult {
  accuracy: number;
  loss: number;
  count: number;
}

export function evaluate(model: tf.LayersModel, split: LabeledImages, info: DatasetInfo, batchSize = 500): EvalResult {
  const lut = normalizationTable(info);
  let correct = 0,
    lossSum = 0;
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    const idx = Uint32Array.from({ length: n }, (_, i) => start + i);
    withBufferPool(() => {
      const { x, y } = makeBatch(split, info, idx, lut);
      const [c, l] = tf.tidy(() => {
        const logits = model.apply(x, { training: false }) as tf.Tensor;
        const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
        return [hits.dataSync()[0], softmaxCrossEntropy(logits, y).dataSync()[0]];
      });
      correct += c;
      lossSum += l * n;
      tf.dispose([x, y]);
    });
  }
  return { accuracy: correct / split.count, loss: lossSum / split.count, count: split.count };
}

// A MobileNetV2-style network for 28×28 and 32×32 images (Sandler et al. 2018, scaled to small
// inputs): a 3×3 stem at stride 1, inverted residual blocks (1×1 expansion, 3×3 depthwise, 1×1
// linear projection, each with batch norm; ReLU6 after the first two; a residual add where the
// shape allows), a 1×1 conv to 320 channels, global average pooling and a dense classifier.
// Stages (expansion t, channels c, blocks n, first stride s), the CIFAR variant shortened to fit
// two cores: (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2), (6, 96, 1, 1). `width`
// scales every channel count (rounded to a multiple of 8, as the paper's width multiplier).
import { tf } from '../engine/tf.js';
import { BatchNorm } from '../nn/batch-norm.js';
import { heInit, validateOptions, type ModelOptions } from './common.js';

export const MOBILENET_STAGES: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 2, 2],
  [6, 64, 2, 2],
  [6, 96, 1, 1],
];

/** Channels at width multiplier `w`: a multiple of 8, never below 8 nor 90% of the scaled count. */
export function scaledChannels(c: number, w: number): number {
  const v = Math.max(8, Math.round((c * w) / 8) * 8);
  return v < 0.9 * c * w ? v + 8 : v;
}

export function mobilenet(o: ModelOptions): tf.LayersModel {
  validateOptions('mobilenet', o);
  const [h, w] = o.inputShape;
  if (h < 16 || w < 16) throw new Error(`mobilenet: input must be at least 16x16, got ${h}x${w}`);
  const width = o.width ?? 1;
  const s = o.seed ?? 0;
  let li = 0;
  const conv = (name: string, filters: number, kernelSize: number, strides = 1) =>
    tf.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: heInit(s, ++li) });
  const bnRelu6 = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.reLU({ name: `${name}_relu6`, maxValue: 6 }).apply(new BatchNorm({ name: `${name}_bn` }).apply(x)) as tf.SymbolicTensor;
  const input = tf.input({ shape: o.inputShape, name: 'input' });
  let x = bnRelu6(conv('stem', scaledChannels(32, width), 3).apply(input) as tf.SymbolicTensor, 'stem');
  let cin = scaledChannels(32, width);
  MOBILENET_STAGES.forEach(([t, c, n, stride], stage) => {
    const cout = scaledChannels(c, width);
    for (let b = 0; b < n; b++) {
      const p = `b${stage + 1}_${b + 1}`;
      const st = b === 0 ? stride : 1;
      let y = x;
      if (t !== 1) y = bnRelu6(conv(`${p}_expand`, cin * t, 1).apply(y) as tf.SymbolicTensor, `${p}_expand`);
      const dw = tf.layers.depthwiseConv2d({
        name: `${p}_dw`,
        kernelSize: 3,
        strides: st,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: heInit(s, ++li),
      });
      y = bnRelu6(dw.apply(y) as tf.SymbolicTensor, `${p}_dw`);
      y = new BatchNorm({ name: `${p}_project_bn` }).apply(conv(`${p}_project`, cout, 1).apply(y)) as tf.SymbolicTensor;
      x = st === 1 && cin === cout ? (tf.layers.add({ name: `${p}_add` }).apply([x, y]) as tf.SymbolicTensor) : y;
      cin = cout;
    }
  });
  x = bnRelu6(conv('head', scaledChannels(320, Math.max(1, width)), 1).apply(x) as tf.SymbolicTensor, 'head');
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'fc', units: o.numClasses, kernelInitializer: heInit(s, ++li) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ name: 'mobilenet', inputs: input, outputs: out });
}

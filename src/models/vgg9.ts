// VGG-9 (SPEC.md §1): [conv64, conv64, pool, conv128, conv128, pool, conv256, conv256, pool],
// each conv 3x3 pad 1 + BN + ReLU, then FC512+BN+ReLU, FC512+BN+ReLU, FC10.
// Convs and hidden FCs carry no bias (the BN shift replaces it).
import { tf } from '../engine/tf.js';
import { BatchNorm } from '../nn/batch-norm.js';
import { heInit, validateOptions, type ModelOptions } from './common.js';

export function vgg9(o: ModelOptions): tf.LayersModel {
  validateOptions('vgg9', o);
  const [h, w] = o.inputShape;
  if (h < 8 || w < 8) throw new Error(`vgg9: input must be at least 8x8, got ${h}x${w}`);
  const s = o.seed ?? 0;
  const layers: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: o.inputShape, name: 'input' })];
  let i = 0;
  let block = 1;
  for (const filters of [64, 128, 256]) {
    for (let j = 0; j < 2; j++) {
      i++;
      layers.push(
        tf.layers.conv2d({ name: `conv${i}`, filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: heInit(s, i) }),
        new BatchNorm({ name: `bn${i}`, relu: true }),
      );
    }
    layers.push(tf.layers.maxPooling2d({ name: `pool${block++}`, poolSize: 2, strides: 2 }));
  }
  layers.push(tf.layers.flatten({ name: 'flatten' }));
  for (const k of [1, 2]) {
    layers.push(
      tf.layers.dense({ name: `fc${k}`, units: 512, useBias: false, kernelInitializer: heInit(s, 10 + k) }),
      new BatchNorm({ name: `bn_fc${k}`, relu: true }),
    );
  }
  layers.push(tf.layers.dense({ name: 'fc3', units: o.numClasses, kernelInitializer: heInit(s, 13) }));
  return tf.sequential({ name: 'vgg9', layers });
}

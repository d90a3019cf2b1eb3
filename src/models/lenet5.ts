// LeNet-5 (SPEC.md §1): conv6 5x5 valid, ReLU, maxpool2 -> conv16 5x5 valid, ReLU, maxpool2
// -> FC120, ReLU -> FC84, ReLU -> FC10.
import { tf } from '../engine/tf.js';
import { heInit, validateOptions, type ModelOptions } from './common.js';

export function lenet5(o: ModelOptions): tf.LayersModel {
  validateOptions('lenet5', o);
  const [h, w] = o.inputShape;
  if (h < 16 || w < 16) throw new Error(`lenet5: input must be at least 16x16, got ${h}x${w}`);
  const s = o.seed ?? 0;
  const conv = (name: string, filters: number, i: number) =>
    tf.layers.conv2d({ name, filters, kernelSize: 5, padding: 'valid', activation: 'relu', kernelInitializer: heInit(s, i) });
  const fc = (name: string, units: number, i: number, activation: 'relu' | 'linear') =>
    tf.layers.dense({ name, units, activation, kernelInitializer: heInit(s, i) });
  return tf.sequential({
    name: 'lenet5',
    layers: [
      tf.layers.inputLayer({ inputShape: o.inputShape, name: 'input' }),
      conv('conv1', 6, 1),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }),
      conv('conv2', 16, 2),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }),
      tf.layers.flatten({ name: 'flatten' }),
      fc('fc1', 120, 3, 'relu'),
      fc('fc2', 84, 4, 'relu'),
      fc('fc3', o.numClasses, 5, 'linear'),
    ],
  });
}

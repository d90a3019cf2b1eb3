// ResNet-20 for CIFAR (He et al. 2016, SPEC.md §1): conv16 -> 3 stages x 3 basic blocks
// (16, 32, 64 channels; stride 2 at stages 2 and 3; 1x1 conv + BN shortcut on shape change)
// -> global average pool -> FC10. Stride-2 3x3 convs use tfjs 'same' padding (pad after),
// a one-pixel shift from PyTorch's symmetric padding with the same shapes and cost.
import { tf } from '../engine/tf.js';
import { BatchNorm } from '../nn/batch-norm.js';
import { heInit, validateOptions, type ModelOptions } from './common.js';

export function resnet20(o: ModelOptions): tf.LayersModel {
  validateOptions('resnet20', o);
  const s = o.seed ?? 0;
  let li = 0;
  const conv = (name: string, filters: number, kernelSize: number, strides: number) =>
    tf.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: heInit(s, ++li) });
  const input = tf.input({ shape: o.inputShape, name: 'input' });
  let x = new BatchNorm({ name: 'bn1', relu: true }).apply(conv('conv1', 16, 3, 1).apply(input)) as tf.SymbolicTensor;
  let cin = 16;
  [16, 32, 64].forEach((width, stage) => {
    for (let b = 0; b < 3; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const p = `s${stage + 1}b${b + 1}`;
      let y = conv(`${p}_conv1`, width, 3, stride).apply(x) as tf.SymbolicTensor;
      y = new BatchNorm({ name: `${p}_bn1`, relu: true }).apply(y) as tf.SymbolicTensor;
      y = conv(`${p}_conv2`, width, 3, 1).apply(y) as tf.SymbolicTensor;
      y = new BatchNorm({ name: `${p}_bn2` }).apply(y) as tf.SymbolicTensor;
      let shortcut = x;
      if (stride !== 1 || cin !== width) {
        shortcut = conv(`${p}_short`, width, 1, stride).apply(x) as tf.SymbolicTensor;
        shortcut = new BatchNorm({ name: `${p}_short_bn` }).apply(shortcut) as tf.SymbolicTensor;
      }
      const sum = tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = tf.layers.reLU({ name: `${p}_relu` }).apply(sum) as tf.SymbolicTensor;
      cin = width;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'fc', units: o.numClasses, kernelInitializer: heInit(s, ++li) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ name: 'resnet20', inputs: input, outputs: out });
}

// The zoo matches SPEC.md §1: layer structure, output shapes, parameter and MAC counts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { buildModel } from '../../src/models/zoo.js';
import { layerMacs, totalMacs } from '../../src/models/macs.js';
import { engine } from '../helpers/compare.js';

before(async () => {
  await engine();
});

test('lenet5 on 28x28x1: layers, parameters (44,426 by hand) and output shape', () => {
  const m = buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10 });
  // conv1 5*5*1*6+6, conv2 5*5*6*16+16, fc1 256*120+120, fc2 120*84+84, fc3 84*10+10
  assert.equal(m.countParams(), 156 + 2416 + 30840 + 10164 + 850);
  assert.deepEqual(m.outputs[0].shape, [null, 10]);
  assert.deepEqual(
    layerMacs(m).map((l) => l.name),
    ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
  );
});

test('vgg9 on 32x32x3: about 0.31 GFLOP (2 x 155 M multiply-accumulates) per image, as SPEC.md states', () => {
  const m = buildModel('vgg9', { inputShape: [32, 32, 3], numClasses: 10 });
  const macs = totalMacs(m);
  assert.ok(Math.abs((2 * macs) / 0.31e9 - 1) < 0.03, `vgg9 MACs ${macs}`);
  assert.equal(layerMacs(m).filter((l) => l.kind === 'conv2d').length, 6);
  assert.equal(m.layers.filter((l) => l.getClassName() === 'LowbitBatchNorm').length, 8);
  const m28 = buildModel('vgg9', { inputShape: [28, 28, 1], numClasses: 10 });
  assert.deepEqual(m28.getLayer('fc1').getWeights()[0].shape, [3 * 3 * 256, 512]);
});

test('resnet20: 19 3x3 convs + 2 shortcut 1x1 convs + FC, about 0.27 M parameters and 41 M MACs', () => {
  const m = buildModel('resnet20', { inputShape: [32, 32, 3], numClasses: 10 });
  const convs = layerMacs(m).filter((l) => l.kind === 'conv2d');
  assert.equal(convs.length, 21);
  assert.equal(convs.filter((l) => l.name.endsWith('_short')).length, 2);
  assert.ok(Math.abs(m.countParams() / 0.272e6 - 1) < 0.03, `params ${m.countParams()}`);
  assert.ok(Math.abs(totalMacs(m) / 41e6 - 1) < 0.03, `MACs ${totalMacs(m)}`);
  assert.deepEqual((m.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).shape, [2, 10]);
});

test('mobilenet: stem, 8 inverted residuals (8 depthwise 3x3, 3 residual adds), 1x1 head, ReLU6, width multiplier', () => {
  const m = buildModel('mobilenet', { inputShape: [28, 28, 1], numClasses: 10 });
  const l = layerMacs(m);
  assert.equal(l.filter((x) => x.kind === 'depthwise').length, 8);
  // Stem, 7 expansions (the first stage has none), 8 projections, the head.
  assert.equal(l.filter((x) => x.kind === 'conv2d').length, 17);
  assert.equal(m.layers.filter((x) => x.getClassName() === 'Add').length, 3);
  const relu6 = m.layers.filter((x) => x.getClassName() === 'ReLU');
  assert.ok(relu6.length === 17 && relu6.every((x) => x.getConfig().maxValue === 6));
  // Counted by hand from the stages: 0.224 M parameters, 8.8 M MACs at 28×28.
  assert.ok(Math.abs(m.countParams() / 0.2242e6 - 1) < 0.01, `params ${m.countParams()}`);
  assert.ok(Math.abs(totalMacs(m) / 8.84e6 - 1) < 0.01, `MACs ${totalMacs(m)}`);
  assert.deepEqual((m.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor).shape, [2, 10]);
  const half = buildModel('mobilenet', { inputShape: [32, 32, 3], numClasses: 10, width: 0.5 });
  assert.ok(half.countParams() < 0.4 * buildModel('mobilenet', { inputShape: [32, 32, 3], numClasses: 10 }).countParams());
  assert.throws(() => buildModel('mobilenet', { inputShape: [28, 28, 1], numClasses: 10, width: 0 }), /width must be in \(0, 4\]/);
});

test('same seed, same weights; different seed, different weights', () => {
  const w = (seed: number) =>
    buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10, seed })
      .getWeights()[0]
      .dataSync()
      .slice(0, 20);
  assert.deepEqual(Array.from(w(3)), Array.from(w(3)));
  assert.notDeepEqual(Array.from(w(3)), Array.from(w(4)));
});

test('bad model options are refused clearly', () => {
  assert.throws(
    () => buildModel('alexnet', { inputShape: [28, 28, 1], numClasses: 10 }),
    /unknown model 'alexnet'; expected one of: lenet5, vgg9, resnet20, mobilenet/,
  );
  assert.throws(() => buildModel('vgg9', { inputShape: [28, 28, 0], numClasses: 10 }), /inputShape must be three positive integers/);
  assert.throws(() => buildModel('lenet5', { inputShape: [8, 8, 1], numClasses: 10 }), /at least 16x16/);
  assert.throws(() => buildModel('resnet20', { inputShape: [32, 32, 3], numClasses: 1 }), /numClasses must be an integer >= 2/);
});

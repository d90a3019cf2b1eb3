// quantizeModel on the zoo and on a user-built model: plans, weight copies, BN folding,
// training steps through the quantized layers, and serialisation.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { buildModel } from '../../src/models/zoo.js';
import { quantizeModel, planQuantization } from '../../src/nn/quantize-model.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { trainStep, trainableVariables } from '../../src/train/step.js';
import { engine, rand, relErr } from '../helpers/compare.js';
import '../../src/nn/qact.js';

before(async () => {
  await engine();
});

const W4A4 = { weight: { format: 'int', bits: 4, granularity: 'channel' }, activation: { format: 'int', bits: 4, signed: false } };

test('plan: first conv and last FC at 8 bits, the rest as configured; overrides by name, glob and regex', () => {
  const m = buildModel('vgg9', { inputShape: [32, 32, 3], numClasses: 10 });
  const plan = planQuantization(m, {
    ...W4A4,
    overrides: [
      { match: 'conv6', weight: { format: 'int', bits: 2 } },
      { match: 'fc*', activation: null },
      { match: '/^conv[45]$/', weight: { format: 'dybit', bits: 4 } },
    ],
  });
  const by = Object.fromEntries(plan.map((p) => [p.name, p]));
  assert.deepEqual(
    plan.map((p) => p.name),
    ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv6', 'fc1', 'fc2', 'fc3'],
  );
  assert.equal(by.conv1.weight?.bits, 8);
  assert.equal(by.conv1.activation?.format, 'int');
  assert.equal(by.conv2.weight?.bits, 4);
  assert.equal(by.conv6.weight?.bits, 2);
  assert.equal(by.conv4.weight?.format, 'dybit');
  assert.equal(by.fc1.activation, null);
  assert.equal(by.fc3.activation, null); // the override comes after the 8-bit default
  // Without 8-bit ends, the first layer's input (the normalised, signed image) gets a signed format.
  const noEnds = planQuantization(m, { ...W4A4, keepEndsAt8Bits: false });
  assert.deepEqual(
    [noEnds[0].activation?.format, noEnds[0].activation?.bits, (noEnds[0].activation as { signed?: boolean }).signed],
    ['int', 4, true],
  );
  assert.equal((noEnds[1].activation as { signed?: boolean }).signed, false);
  assert.throws(() => planQuantization(m, { ...W4A4, overrides: [{ match: 'nope*' }] }), /override 'nope\*' matches no conv\/dense layer/);
  assert.throws(
    () => planQuantization(m, { weight: { format: 'int', bits: 12 }, activation: null }),
    /weight spec of conv2: invalid int spec/,
  );
});

test('8-bit quantized twins stay close to the float model (lenet5, vgg9, resnet20)', async () => {
  for (const [name, shape] of [
    ['lenet5', [28, 28, 1]],
    ['vgg9', [32, 32, 3]],
    ['resnet20', [32, 32, 3]],
  ] as const) {
    const m = buildModel(name, { inputShape: [...shape], numClasses: 10, seed: 3 });
    const x = rand([4, ...shape], 7);
    const { model: q } = await quantizeModel(m, {
      weight: { format: 'int', bits: 8, granularity: 'channel' },
      activation: { format: 'int', bits: 8, signed: false },
    });
    const a = (m.predict(x) as tf.Tensor).dataSync(),
      b = (q.predict(x) as tf.Tensor).dataSync();
    assert.ok(relErr(b, a) < 0.05, `${name}: ${relErr(b, a)}`);
    assert.equal(
      q.layers.filter((l) => l.getClassName().startsWith('Q')).length,
      m.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName())).length,
    );
  }
});

test('batch-norm folding gives the same inference outputs as keeping it (no quantization)', async () => {
  const m = buildModel('vgg9', { inputShape: [16, 16, 3], numClasses: 10, seed: 4 });
  const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false });
  trainStep(m, rand([8, 16, 16, 3], 1), tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), opt, 0.01); // non-trivial BN statistics
  const x = rand([3, 16, 16, 3], 2);
  const cfg = { weight: null, activation: null, keepEndsAt8Bits: false };
  const keep = await quantizeModel(m, { ...cfg, batchNorm: 'keep' });
  const fold = await quantizeModel(m, { ...cfg, batchNorm: 'fold' });
  const ref = (m.predict(x) as tf.Tensor).dataSync();
  assert.ok(relErr((keep.model.predict(x) as tf.Tensor).dataSync(), ref) < 1e-5);
  assert.ok(relErr((fold.model.predict(x) as tf.Tensor).dataSync(), ref) < 1e-4);
  assert.equal(fold.model.layers.filter((l) => l.getClassName() === 'LowbitBatchNorm').length, 0);
});

test('QAT steps train through quantized layers (int W4A4 and LSQ + PACT), and the model survives a JSON round trip', async () => {
  for (const cfg of [W4A4, { weight: { format: 'lsq', bits: 4 }, activation: { format: 'pact', bits: 4 } }]) {
    const m = buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    const { model: q } = await quantizeModel(m, cfg);
    const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false });
    const x = rand([16, 28, 28, 1], 3),
      y = tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 10),
        'int32',
      );
    const vars = trainableVariables(q);
    const losses = Array.from({ length: 12 }, () => trainStep(q, x, y, opt, 0.05, vars).loss);
    assert.ok(losses[11] < losses[0], `${cfg.weight.format}: loss ${losses[0]} -> ${losses[11]}`);
    const json = q.toJSON(null, false);
    const back = await tf.models.modelFromJSON({ modelTopology: json } as unknown as tf.io.ModelJSON);
    back.setWeights(q.getWeights());
    assert.ok(relErr((back.predict(x) as tf.Tensor).dataSync(), (q.predict(x) as tf.Tensor).dataSync()) < 1e-6);
  }
});

test("a user's own functional model can be quantized too", async () => {
  const input = tf.input({ shape: [12, 12, 2] });
  const a = tf.layers.conv2d({ name: 'my_conv', filters: 4, kernelSize: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.flatten().apply(a) as tf.SymbolicTensor;
  const c = tf.layers.dense({ name: 'head', units: 3 }).apply(b) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: c });
  const { model: q, plan } = await quantizeModel(m, {
    weight: { format: 'po2', bits: 4 },
    activation: { format: 'int', bits: 4, signed: false },
    keepEndsAt8Bits: false,
  });
  assert.deepEqual(
    plan.map((p) => p.weight?.format),
    ['po2', 'po2'],
  );
  assert.deepEqual((q.predict(rand([2, 12, 12, 2], 1)) as tf.Tensor).shape, [2, 3]);
});

test('inputs that may be negative get signed activation formats: the image, linear bottlenecks, their residual sums', () => {
  const m = buildModel('mobilenet', { inputShape: [28, 28, 1], numClasses: 10 });
  const plan = planQuantization(m, { weight: { format: 'int', bits: 4 }, activation: { format: 'int', bits: 4, signed: false } });
  const signed = (name: string) => (plan.find((p) => p.name === name)!.activation as { signed?: boolean }).signed;
  // After ReLU6 (depthwise and projection inputs; the classifier after pooling): unsigned as configured.
  for (const n of ['b1_1_dw', 'b2_1_project', 'b3_2_dw', 'fc']) assert.equal(signed(n), false, n);
  // The first expansion reads a projection (linear), the second a residual sum of projections, the head too; the stem reads the image.
  for (const n of ['stem', 'b2_1_expand', 'b2_2_expand', 'b3_2_expand', 'head']) assert.equal(signed(n), true, n);
  // PACT has no sign: such inputs take signed int at the same width.
  const pact = planQuantization(m, { weight: { format: 'lsq', bits: 4 }, activation: { format: 'pact', bits: 4 } });
  assert.deepEqual(pact.find((p) => p.name === 'b2_1_expand')!.activation, pact.find((p) => p.name === 'b2_2_expand')!.activation);
  assert.equal(pact.find((p) => p.name === 'b2_1_expand')!.activation!.format, 'int');
  assert.equal(pact.find((p) => p.name === 'b2_1_dw')!.activation!.format, 'pact');
  // The zoo's other models read only ReLU outputs past their first layer: nothing changes there.
  const vgg = planQuantization(buildModel('vgg9', { inputShape: [32, 32, 3], numClasses: 10 }), {
    weight: { format: 'int', bits: 4 },
    activation: { format: 'int', bits: 4, signed: false },
  });
  assert.deepEqual(
    vgg.filter((p) => (p.activation as { signed?: boolean }).signed).map((p) => p.name),
    ['conv1'],
  );
});

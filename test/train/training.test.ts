// Checkpoints, schedules, optimizers, and the training step (buffer pool, determinism).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../src/engine/tf.js';
import { setBufferPoolEnabled } from '../../src/engine/buffer-pool.js';
import { setNativeKernels } from '../../src/engine/override.js';
import { buildModel } from '../../src/models/zoo.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { learningRate } from '../../src/train/schedule.js';
import { trainStep, trainableVariables } from '../../src/train/step.js';
import { engine, rand, relErr } from '../helpers/compare.js';
import { tmpDir } from '../helpers/fixtures.js';

before(async () => {
  await engine();
});

test('checkpoint round trip: topology, weights (incl. BN statistics) and optimizer state', async () => {
  const m = buildModel('vgg9', { inputShape: [16, 16, 1], numClasses: 4, seed: 2 });
  m.apply(rand([2, 16, 16, 1], 1), { training: true }); // moves the BN running statistics
  const state = { step: 7, slots: [[Float32Array.from([1, 2, 3])]] };
  const file = path.join(tmpDir(), 'c.lbck');
  saveCheckpoint(file, {
    model: m,
    modelSpec: { zoo: 'vgg9' },
    optimizer: { config: { kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false }, state },
    state: { epoch: 3 },
  });
  const ck = await loadCheckpoint(file);
  assert.equal(ck.state.epoch, 3);
  assert.deepEqual(Array.from(ck.optimizer!.state.slots[0][0]), [1, 2, 3]);
  const a = m.getWeights(),
    b = ck.model.getWeights();
  assert.equal(a.length, b.length);
  a.forEach((t, i) => assert.deepEqual(Array.from(t.dataSync()), Array.from(b[i].dataSync())));
  const x = rand([3, 16, 16, 1], 9);
  assert.ok(relErr((ck.model.predict(x) as tf.Tensor).dataSync(), (m.predict(x) as tf.Tensor).dataSync()) < 1e-6);
});

test('damaged checkpoints are detected, not trusted', async () => {
  const m = buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10 });
  const dir = tmpDir();
  const file = path.join(dir, 'c.lbck');
  saveCheckpoint(file, { model: m, modelSpec: {} });
  const good = readFileSync(file);
  const variants: [string, Buffer, RegExp][] = [
    [
      'flip',
      (() => {
        const b = Buffer.from(good);
        b[b.length - 100] ^= 0x10;
        return b;
      })(),
      /checksum mismatch: the file is damaged/,
    ],
    ['truncate', good.subarray(0, good.length - 8), /checksum mismatch: the file is damaged/],
    ['magic', Buffer.concat([Buffer.from('XXXX'), good.subarray(4)]), /not a lowbit checkpoint \(bad magic\)/],
    [
      'header',
      (() => {
        const b = Buffer.from(good);
        b.writeUInt32LE(0xfffffff0, 8);
        return b;
      })(),
      /damaged header \(length 4294967280 exceeds/,
    ],
    ['tiny', good.subarray(0, 5), /truncated: 5 bytes is shorter than the 12-byte prefix/],
  ];
  for (const [name, bytes, re] of variants) {
    const f = path.join(dir, `${name}.lbck`);
    writeFileSync(f, bytes);
    await assert.rejects(loadCheckpoint(f), re, name);
  }
  await assert.rejects(loadCheckpoint(path.join(dir, 'none.lbck')), /cannot read checkpoint .*no such file or directory \(ENOENT\)/);
});

test('learning-rate schedules', () => {
  const base = { lr: 0.1, warmupEpochs: 0, epochs: 10 };
  assert.equal(learningRate({ ...base, schedule: { kind: 'constant' } }, 7), 0.1);
  assert.ok(Math.abs(learningRate({ ...base, schedule: { kind: 'cosine' } }, 5) - 0.05) < 1e-12);
  assert.ok(learningRate({ ...base, schedule: { kind: 'cosine' } }, 10) < 1e-12);
  assert.ok(Math.abs(learningRate({ ...base, schedule: { kind: 'step', stepEpochs: 3, gamma: 0.1 } }, 6.5) - 0.001) < 1e-12);
  assert.ok(Math.abs(learningRate({ ...base, schedule: { kind: 'multistep', milestones: [2, 8], gamma: 0.5 } }, 5) - 0.05) < 1e-12);
  const warm = { ...base, warmupEpochs: 2, schedule: { kind: 'cosine' as const } };
  assert.ok(Math.abs(learningRate(warm, 1) - 0.05) < 1e-12);
  assert.ok(Math.abs(learningRate(warm, 2) - 0.1) < 1e-12);
});

test('training config validation names the bad field and what it expected', () => {
  assert.throws(
    () => parseTrainConfig({ model: 'lenet5', data: 'mnist', epochs: 0, batchSize: 8, lr: 0.1 }),
    /epochs: .*>0|epochs: Too small/,
  );
  assert.throws(
    () => parseTrainConfig({ model: 'lenet5', data: 'mnist', epochs: 1, batchSize: 8, lr: 0.1, bogus: 1 }),
    /Unrecognized key.*bogus/,
  );
  assert.throws(
    () => parseTrainConfig({ model: 'lenet5', data: 'mnist', epochs: 2, batchSize: 8, lr: 0.1, schedule: 'multistep' }),
    /milestones: the multistep schedule needs at least one milestone/,
  );
  assert.throws(
    () => parseTrainConfig({ model: 'lenet5', data: 'mnist', epochs: 2, batchSize: 8, lr: 0.1, warmupEpochs: 3 }),
    /warmupEpochs: must be less than epochs/,
  );
});

test('native optimizer updates equal the TypeScript reference (SGD momentum/Nesterov, Adam/AdamW)', () => {
  const configs = [
    { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, nesterov: false },
    { kind: 'sgd', momentum: 0.8, weightDecay: 1e-3, nesterov: true },
    { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, decoupled: true },
    { kind: 'adam', beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 1e-3, decoupled: false },
  ] as const;
  for (const cfg of configs) {
    const run = (native: boolean) => {
      const old = setNativeKernels(native);
      try {
        const v = tf.variable(rand([5, 7], 1));
        const opt = new Optimizer(cfg);
        for (let i = 0; i < 4; i++) opt.apply([v], [rand([5, 7], 10 + i)], 0.05);
        return v.dataSync().slice();
      } finally {
        setNativeKernels(old);
      }
    };
    assert.ok(relErr(run(true), run(false)) < 1e-5, cfg.kind);
  }
});

function stepWeights(poolOn: boolean): Float32Array[] {
  const old = setBufferPoolEnabled(poolOn);
  try {
    const m = buildModel('vgg9', { inputShape: [16, 16, 3], numClasses: 10, seed: 5 });
    const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, nesterov: false });
    const vars = trainableVariables(m);
    for (let i = 0; i < 3; i++) {
      const x = rand([8, 16, 16, 3], 20 + i),
        y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
      trainStep(m, x, y, opt, 0.05, vars);
      tf.dispose([x, y]);
    }
    return m.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  } finally {
    setBufferPoolEnabled(old);
  }
}

test('buffer recycling changes nothing: identical weights after three steps with and without the pool', () => {
  const a = stepWeights(true),
    b = stepWeights(false),
    c = stepWeights(true);
  a.forEach((w, i) => {
    assert.deepEqual(Array.from(w), Array.from(b[i]), `weight ${i} differs with the pool off`);
    assert.deepEqual(Array.from(w), Array.from(c[i]), `weight ${i} differs between two runs`);
  });
});

test('no tensors leak across training steps', () => {
  const m = buildModel('resnet20', { inputShape: [8, 8, 3], numClasses: 10, seed: 1 });
  const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  const vars = trainableVariables(m);
  const x = rand([4, 8, 8, 3], 1),
    y = tf.tensor1d([1, 2, 3, 4], 'int32');
  trainStep(m, x, y, opt, 0.01, vars);
  const n = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) trainStep(m, x, y, opt, 0.01, vars);
  assert.equal(tf.memory().numTensors, n);
});

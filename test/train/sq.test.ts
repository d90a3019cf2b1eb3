// Stochastic quantization: the roulette draws with the right probabilities, the native and
// TypeScript selections agree, kept units pass through at full precision with their gradient,
// and the ratio stages restart the learning-rate schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { setNativeKernels } from '../../src/engine/override.js';
import { Quantizer } from '../../src/nn/quantizer.js';
import { chooseKept, elementErrors, keepChannels, keepElements, probabilityFunctions } from '../../src/train/methods/sq-select.js';
import { sqMethod, sqOptionsSchema, sqStage } from '../../src/train/methods/sq.js';
import { buildModel } from '../../src/models/zoo.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { engine } from '../helpers/compare.js';

const hasNative = await engine();

function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

test('deterministic selection keeps the largest errors; counts at the edges', () => {
  const e = [0.1, 0.5, 0.3, 0.9, 0.2];
  const sel = { fn: 'linear' as const, deterministic: true, seed: 1 };
  assert.deepEqual(Array.from(chooseKept(e, 2, sel)), [0, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(chooseKept(e, 0, sel)), [0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(chooseKept(e, 5, sel)), [1, 1, 1, 1, 1]);
});

test('roulette keeps a unit with probability proportional to f(e / mean e)', () => {
  const e = [1, 2, 3];
  const trials = 20000;
  const expected: Record<string, number[]> = {
    constant: [1 / 3, 1 / 3, 1 / 3],
    linear: [1 / 6, 2 / 6, 3 / 6],
    // z = e / mean = 0.5, 1, 1.5
    softmax: [0.5, 1, 1.5].map((z, _, a) => Math.exp(z) / a.reduce((s, y) => s + Math.exp(y), 0)),
    sigmoid: [0.5, 1, 1.5].map((z, _, a) => 1 / (1 + Math.exp(-z)) / a.reduce((s, y) => s + 1 / (1 + Math.exp(-y)), 0)),
  };
  for (const fn of probabilityFunctions) {
    const hits = [0, 0, 0];
    for (let t = 0; t < trials; t++) chooseKept(e, 1, { fn, deterministic: false, seed: t * 7919 + 13 }).forEach((k, i) => (hits[i] += k));
    hits.forEach((h, i) => assert.ok(Math.abs(h / trials - expected[fn][i]) < 0.015, `${fn}[${i}]: ${h / trials} vs ${expected[fn][i]}`));
  }
  // Without replacement: two draws never pick the same unit.
  for (let t = 0; t < 100; t++)
    assert.equal(
      chooseKept(e, 2, { fn: 'linear', deterministic: false, seed: t }).reduce((a, b) => a + b),
      2,
    );
});

test(
  'native element selection on a layer-sized tensor (the sampled bracket of the threshold) agrees with the reference',
  { skip: !hasNative },
  () => {
    const n = 600_000,
      count = 150_001;
    const x = randomArray(n, 5);
    const q = Float32Array.from(x, (v) => Math.round(v * 4) / 4);
    for (const deterministic of [false, true]) {
      const sel = { fn: 'linear' as const, deterministic, seed: 99 };
      const masks = [true, false].map((native) => {
        const out = q.slice(),
          mask = new Uint8Array(n);
        const old = setNativeKernels(native);
        try {
          keepElements(x, out, mask, count, sel);
        } finally {
          setNativeKernels(old);
        }
        return mask;
      });
      assert.equal(
        masks[0].reduce((s, v) => s + v, 0),
        count,
      );
      let differ = 0;
      for (let i = 0; i < n; i++) if (masks[0][i] !== masks[1][i]) differ++;
      assert.ok(differ <= 4, `deterministic ${deterministic}: ${differ} weights chosen differently`);
    }
  },
);

test('native element selection keeps the same weights as the TypeScript reference', { skip: !hasNative }, () => {
  const n = 50_000;
  const x = randomArray(n, 3);
  const q = Float32Array.from(x, (v) => Math.round(v * 4) / 4);
  for (const fn of probabilityFunctions)
    for (const deterministic of [false, true]) {
      const sel = { fn, deterministic, seed: 12345 };
      const run = (native: boolean) => {
        const out = q.slice(),
          mask = new Uint8Array(n);
        const old = setNativeKernels(native);
        try {
          keepElements(x, out, mask, 12_345, sel);
        } finally {
          setNativeKernels(old);
        }
        return { out, mask };
      };
      const a = run(true),
        b = run(false);
      let differ = 0;
      for (let i = 0; i < n; i++) if (a.mask[i] !== b.mask[i]) differ++;
      // Keys agree to the last bits of a logarithm; a flip needs two keys within that of each other.
      assert.ok(differ <= 4, `${fn}/${deterministic}: ${differ} weights chosen differently`);
      assert.equal(
        a.mask.reduce((s, v) => s + v, 0),
        12_345,
      );
      for (let i = 0; i < n; i++) assert.equal(a.out[i], a.mask[i] ? x[i] : q[i]);
    }
});

test('channel selection: errors per channel, kept channels pass through unquantized (native and TypeScript)', () => {
  const C = 8,
    rows = 50;
  const x = randomArray(C * rows, 5);
  // Channel c is quantized with step (c + 1) / 8: the error grows with c.
  const q = Float32Array.from(x, (v, i) => {
    const s = ((i % C) + 1) / 8;
    return Math.round(v / s) * s;
  });
  for (const native of hasNative ? [true, false] : [false]) {
    const old = setNativeKernels(native);
    try {
      const out = q.slice(),
        mask = new Uint8Array(x.length);
      const keep = keepChannels(x, out, mask, C, 3, { fn: 'linear', deterministic: true, seed: 0 });
      assert.deepEqual(Array.from(keep), [0, 0, 0, 0, 0, 1, 1, 1], `native=${native}`);
      for (let i = 0; i < x.length; i++) {
        assert.equal(out[i], keep[i % C] ? x[i] : q[i]);
        assert.equal(mask[i], keep[i % C] ? 1 : 0);
      }
    } finally {
      setNativeKernels(old);
    }
  }
  assert.deepEqual(Array.from(elementErrors(Float32Array.from([2, 0, -1]), Float32Array.from([1.5, 0.5, -1]))), [0.25, 0, 0]);
});

test("a quantizer's training hook changes training passes only, and kept channels get their gradient", () => {
  const qz = new Quantizer({ format: 'binary', granularity: 'channel' }, 'weight');
  const w = tf.tensor2d([
    [0.5, -0.2],
    [-0.3, 0.1],
  ]);
  qz.trainingHook = (x, out, mask, shape) => {
    const C = shape[shape.length - 1];
    for (let i = 0; i < x.length; i++) if (i % C === 1) ((out[i] = x[i]), (mask[i] = 1));
  };
  const f = (t: tf.Tensor) =>
    tf.sum(
      tf.mul(
        qz.apply(t, true),
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
      ),
    );
  const g = tf.grad(f)(w);
  const y = qz.apply(w, true);
  // Channel 0 binarised (α = mean |w| = 0.4), channel 1 kept.
  assert.deepEqual(Array.from(y.dataSync()), [0.4, -0.2, -0.4, 0.1].map(Math.fround));
  assert.deepEqual(Array.from(g.dataSync()), [1, 2, 3, 4]);
  const inference = qz.apply(w, false);
  assert.deepEqual(Array.from(inference.dataSync()), [0.4, -0.15, -0.4, 0.15].map(Math.fround), 'inference quantizes everything');
});

test('SQ stages split the retraining evenly and restart the learning-rate schedule', async () => {
  assert.deepEqual(
    [0, 1.9, 2, 5.99, 6, 7.99].map((t) => sqStage(t, 8, 4)),
    [0, 0, 1, 2, 3, 3],
  );
  const fp = buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10 });
  const { model, plan } = await quantizeModel(fp, { weight: { format: 'ternary' }, activation: null });
  const run = sqMethod.start!({
    model,
    plan,
    options: {},
    seed: 1,
    epochs: 8,
    stepsPerEpoch: 10,
    lr: { lr: 0.1, schedule: { kind: 'cosine' }, warmupEpochs: 0, epochs: 8 },
  });
  // Cosine within each stage of 2 epochs: the full rate at each stage start, half in its middle.
  for (const start of [0, 2, 4, 6]) {
    assert.ok(Math.abs(run.lrAt!(start) - 0.1) < 1e-12, `start of stage at ${start}`);
    assert.ok(Math.abs(run.lrAt!(start + 1) - 0.05) < 1e-12, `middle of stage at ${start}`);
  }
  run.beforeStep!(6.5, 65);
  assert.equal(run.status!(), 'SQ ratio 1');
  // Only the low-bit layers take part; the 8-bit ends are left alone.
  assert.deepEqual(run.summary().layers, ['conv2', 'fc1', 'fc2']);
  assert.throws(() => sqOptionsSchema.parse({ stages: [0.5, 0.9] }), /last stage must quantize everything/);
  assert.throws(() => sqOptionsSchema.parse({ stages: [0.75, 0.5, 1] }), /ratios must increase/);
  assert.deepEqual(sqOptionsSchema.parse({}).stages, [0.5, 0.75, 0.875, 1]);
  // The ablation without restarts: one cosine over all 8 epochs, the stages still change the ratio.
  const once = sqMethod.start!({
    model,
    plan,
    options: { restartLr: false },
    seed: 1,
    epochs: 8,
    stepsPerEpoch: 10,
    lr: { lr: 0.1, schedule: { kind: 'cosine' }, warmupEpochs: 0, epochs: 8 },
  });
  assert.ok(Math.abs(once.lrAt!(0) - 0.1) < 1e-12);
  assert.ok(Math.abs(once.lrAt!(4) - 0.05) < 1e-12, 'half of the one schedule at the middle of the retraining');
  assert.ok(once.lrAt!(6) < 0.02, 'the last stage starts low, not at the full rate');
  once.beforeStep!(6.5, 65);
  assert.equal(once.status!(), 'SQ ratio 1');
  assert.equal(once.summary().restartLr, false);
});

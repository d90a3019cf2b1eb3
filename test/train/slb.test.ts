// SLB's per-weight arithmetic: the soft weight is the softmax expectation of the grid values,
// its logit gradient matches finite differences, the native kernels agree with the TypeScript
// ones, the hard choice is the largest logit, and the options are validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slbAdam, slbHard, slbInit, slbLogitGrad, slbSoft } from '../../src/train/methods/slb-soft.js';
import { slbMethod, slbOptionsSchema, slbTemperature } from '../../src/train/methods/slb.js';
import { tf } from '../../src/engine/tf.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { engine, withNative } from '../helpers/compare.js';

const hasNative = await engine();

let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 32);
const levels = Float32Array.of(-2, -1, 0, 1);
const unit = Float32Array.of(0.1, 0.25, 0.05);
const n = 3 * 50;
const logits = () => Float32Array.from({ length: n * levels.length }, () => 4 * rnd() - 2);

test('the soft weight is the softmax expectation; T → ∞ gives the hard choice', () => {
  withNative(false, () => {
    const a = Float32Array.of(0, Math.log(3), -100, -100, ...new Array(8).fill(0));
    const w = new Float32Array(3);
    slbSoft(a, levels, unit, 1, w);
    // Weight 0 (channel 0): p = (1/4, 3/4, 0, 0) → E = −1.25 levels × 0.1.
    assert.ok(Math.abs(w[0] - -0.125) < 1e-6, `${w[0]}`);
    const a2 = logits(),
      soft = new Float32Array(n),
      hard = new Float32Array(n);
    slbSoft(a2, levels, unit, 1e4, soft);
    slbHard(a2, levels, unit, hard);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(soft[i] - hard[i]) < 1e-5, `weight ${i}: ${soft[i]} vs ${hard[i]}`);
  });
});

test('the logit gradient matches finite differences of Σ g·w', () => {
  withNative(false, () => {
    const a = logits();
    const g = Float32Array.from({ length: n }, () => rnd() - 0.5);
    const T = 1.7;
    const d = slbLogitGrad(a, levels, unit, T, g);
    const loss = (x: Float32Array) => {
      const w = new Float32Array(n);
      slbSoft(x, levels, unit, T, w);
      return w.reduce((s, v, i) => s + v * g[i], 0);
    };
    for (const k of [0, 5, 77, 301, a.length - 1]) {
      const h = 1e-2;
      const up = Float32Array.from(a),
        dn = Float32Array.from(a);
      up[k] += h;
      dn[k] -= h;
      const fd = (loss(up) - loss(dn)) / (2 * h);
      assert.ok(Math.abs(fd - d[k]) <= 1e-3 * Math.max(1e-3, Math.abs(d[k])) + 1e-5, `logit ${k}: ${fd} vs ${d[k]}`);
    }
  });
});

test('native SLB kernels agree with the TypeScript ones', { skip: !hasNative }, () => {
  const a0 = logits();
  const g = Float32Array.from({ length: n }, () => rnd() - 0.5);
  const run = (native: boolean) =>
    withNative(native, () => {
      const a = Float32Array.from(a0),
        m = new Float32Array(a.length),
        v = new Float32Array(a.length),
        w = new Float32Array(n),
        hard = new Float32Array(n);
      for (let step = 1; step <= 3; step++) slbAdam(a, levels, unit, 2.5, g, m, v, { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, step });
      const conf = slbSoft(a, levels, unit, 2.5, w);
      slbHard(a, levels, unit, hard);
      return { a, w, conf, hard };
    });
  const js = run(false),
    nat = run(true);
  for (let k = 0; k < js.a.length; k++) assert.ok(Math.abs(js.a[k] - nat.a[k]) < 1e-5, `logit ${k}: ${js.a[k]} vs ${nat.a[k]}`);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(js.w[i] - nat.w[i]) < 1e-6, `soft ${i}`);
  assert.ok(Math.abs(js.conf - nat.conf) < 1e-6);
  assert.deepEqual(Array.from(nat.hard), Array.from(js.hard));
});

test('initial logits favour the nearest value; the temperature rises geometrically; options are checked', () => {
  const w = Float32Array.of(0.09, -0.26, 0.0);
  const a = slbInit(w, levels, unit, unit);
  const hard = new Float32Array(3);
  withNative(false, () => slbHard(a, levels, unit, hard));
  assert.deepEqual(
    Array.from(hard, (x) => Number(x.toFixed(6))),
    [0.1, -0.25, 0],
  );
  const o = slbOptionsSchema.parse({ tStart: 1, tEnd: 100 });
  assert.equal(slbTemperature(o, 0, 4), 1);
  assert.ok(Math.abs(slbTemperature(o, 2, 4) - 10) < 1e-9);
  assert.equal(slbTemperature(o, 4, 4), 100);
  assert.throws(() => slbOptionsSchema.parse({ tStart: 10, tEnd: 2 }), /tEnd must be at least tStart/);
  assert.throws(() => slbOptionsSchema.parse({ logitLr: -1 }));
});

test('SLB steps keep the tensor count flat (the kernel rewrite drops its temporaries)', async () => {
  const { model, plan } = await quantizeModel(tinyModel(), {
    weight: { format: 'int', bits: 2, granularity: 'channel' },
    activation: null,
    keepEndsAt8Bits: false,
  });
  const run = slbMethod.start!({
    model,
    plan,
    options: {},
    seed: 1,
    epochs: 1,
    stepsPerEpoch: 2,
    lr: { lr: 0.01, schedule: { kind: 'constant' }, warmupEpochs: 0, epochs: 1 },
  });
  const step = (global: number) => {
    run.beforeStep!(global / 2, global);
    run.afterStep!(global / 2, global);
  };
  step(0);
  step(1);
  const before = tf.memory().numTensors;
  for (let g = 2; g < 8; g++) step(g);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

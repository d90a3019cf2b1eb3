// Native fake quantization against the formats' own TypeScript encode/decode (bit for bit),
// its masks against the declared gradient rule, and the learned-parameter gradients of LSQ/PACT.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { setNativeKernels } from '../../src/engine/override.js';
import { loadNative } from '../../src/engine/native.js';
import { bindKernels } from '../../src/engine/addon-state.js';
import {
  fakeQuant,
  fakeQuantArrays,
  fakeQuantLsq,
  fakeQuantPact,
  runPlan,
  FAKE_QUANT_KERNELS,
  type FakeQuantKernels,
} from '../../src/quant/fake-quant.js';
import { formatNames, formatOf, parseFormatSpec, type SpecOf } from '../../src/quant/registry.js';
import { makeRng } from '../../src/data/rng.js';
import { engine } from '../helpers/compare.js';
import { specsByFormat } from '../helpers/format-specs.js';
import { channelStats, channelStatsTs } from '../../src/quant/numeric.js';

before(async () => {
  await engine();
});

/** Values with many exact ties and edge cases (zeros, halves, beyond the range). */
function sample(n: number, seed: number): Float32Array {
  const r = makeRng(seed);
  return Float32Array.from({ length: n }, (_, i) => {
    switch (i % 5) {
      case 0:
        return (r.next() - 0.5) * 6;
      case 1:
        return (r.next() - 0.5) * 0.2;
      case 2:
        return Math.round((r.next() - 0.5) * 64) / 16;
      case 3:
        return 0;
      default:
        return (r.next() - 0.5) * 40;
    }
  });
}

const addon = loadNative().addon;

for (const name of formatNames) {
  for (const input of specsByFormat[name] ?? []) {
    test(`native fake-quant equals decode(encode(x)) and the declared gradient rule: ${JSON.stringify(input)}`, { skip: !addon }, () => {
      const spec = parseFormatSpec(input);
      const def = formatOf(spec);
      for (const [rows, C, seed] of [
        [50, 4, 1],
        [7, 1, 2],
        [1, 9, 3],
      ] as const) {
        const x = sample(rows * C, seed);
        const shape = [rows, C];
        let params = def.fit(x, shape, spec) as Record<string, unknown>;
        if (spec.format === 'mpq') params = { ...params, flags: Uint8Array.from(x, (_, i) => (i % 3 === 0 ? 1 : 0)) };
        const ref = fakeQuantArrays(x, shape, spec, params);
        const out = new Float32Array(x.length),
          mask = new Uint8Array(x.length);
        runPlan(bindKernels<FakeQuantKernels>(addon!, FAKE_QUANT_KERNELS), def.plan(spec, params), x, out, mask);
        for (let i = 0; i < x.length; i++) {
          assert.ok(Object.is(out[i], ref.out[i]), `value ${i}: x=${x[i]} native ${out[i]} vs ${ref.out[i]}`);
          assert.equal(mask[i], ref.mask[i], `mask ${i}: x=${x[i]}`);
        }
        // Through autograd: forward as above, gradient = upstream where the rule passes.
        const xt = tf.tensor(x, shape),
          up = tf.randomNormal(shape, 0, 1, 'float32', seed);
        const g = tf
          .grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuant(t, spec, params), up)))(xt)
          .dataSync();
        const u = up.dataSync();
        for (let i = 0; i < x.length; i++) assert.equal(g[i], ref.mask[i] ? u[i] : 0);
      }
    });
  }
}

test('fakeQuant: the plain-tfjs path gives the same values and gradients', () => {
  const spec = parseFormatSpec({ format: 'dybit', bits: 4, granularity: 'channel' });
  const x = tf.tensor(sample(40, 9), [10, 4]);
  const params = formatOf(spec).fit(x.dataSync() as Float32Array, [10, 4], spec);
  const run = (on: boolean) => {
    const old = setNativeKernels(on);
    try {
      const f = (t: tf.Tensor) => tf.sum(tf.square(fakeQuant(t, spec, params)));
      return [fakeQuant(x, spec, params).dataSync().slice(), tf.grad(f)(x).dataSync().slice()];
    } finally {
      setNativeKernels(old);
    }
  };
  const [a, b] = [run(true), run(false)];
  assert.deepEqual(Array.from(a[0]), Array.from(b[0]));
  assert.deepEqual(Array.from(a[1]), Array.from(b[1]));
  assert.throws(() => fakeQuant(tf.zeros([2, 3]), spec, params), /parameters for 4 channels, but the tensor's last axis is 3/);
});

test('LSQ step gradient: hand-computed example, native equals the TypeScript path', () => {
  const spec = parseFormatSpec({ format: 'lsq', bits: 2 }) as SpecOf<'lsq'>;
  // 2-bit signed LSQ: Qn = 2, Qp = 1, s = 1. x = [-3, -0.4, 0.3, 0.5, 2]: x/s clipped -> -2 (clip low),
  // round(-0.4) - (-0.4) = 0.4, round(0.3) - 0.3 = -0.3, round(0.5) - 0.5 = -0.5 (half to even: 0), 1 (clip high).
  // With dy = 1: sum = -2 + 0.4 - 0.3 - 0.5 + 1 = -1.4; times g = 1/sqrt(5·1).
  const x = tf.tensor1d([-3, -0.4, 0.3, 0.5, 2]),
    s = tf.tensor1d([1]);
  for (const on of [true, false]) {
    const old = setNativeKernels(on);
    try {
      const [dx, ds] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(fakeQuantLsq(a, b, spec)))([x, s]);
      assert.ok(Math.abs(ds.dataSync()[0] - -1.4 / Math.sqrt(5)) < 1e-6, `native=${on}: ${ds.dataSync()[0]}`);
      assert.deepEqual(Array.from(dx.dataSync()), [0, 1, 1, 1, 0]);
      assert.deepEqual(
        Array.from(fakeQuantLsq(x, s, spec).dataSync()),
        [-2, -0, 0, 0, 1].map((v) => v + 0),
      );
    } finally {
      setNativeKernels(old);
    }
  }
});

test('PACT clip gradient: dα sums the upstream gradient where x >= α', () => {
  const spec = parseFormatSpec({ format: 'pact', bits: 2 }) as SpecOf<'pact'>;
  const x = tf.tensor1d([-1, 0.2, 1.4, 3, 5]),
    a = tf.scalar(3),
    w = tf.tensor1d([1, 2, 3, 4, 5]);
  for (const on of [true, false]) {
    const old = setNativeKernels(on);
    try {
      const [dx, da] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(fakeQuantPact(p, q, spec), w)))([x, a]);
      assert.equal(da.dataSync()[0], 4 + 5); // x = 3 and 5 are >= α
      assert.deepEqual(Array.from(dx.dataSync()), [0, 2, 3, 4, 0]);
      // Step α/3 = 1: 0.2 -> 0, 1.4 -> 1, 3 -> 3, 5 -> 3.
      assert.deepEqual(Array.from(fakeQuantPact(x, a, spec).dataSync()), [0, 0, 1, 3, 3]);
    } finally {
      setNativeKernels(old);
    }
  }
});

test('native channel statistics equal the TypeScript ones (extremes exactly, means to 1e-6)', () => {
  for (const [rows, C] of [
    [1000, 7],
    [33, 1],
    [1, 5],
    [5000, 64],
  ] as const) {
    const x = sample(rows * C, rows + C);
    const a = channelStats(x, C),
      b = channelStatsTs(x, C);
    assert.deepEqual(Array.from(a.min), Array.from(b.min));
    assert.deepEqual(Array.from(a.max), Array.from(b.max));
    assert.deepEqual(Array.from(a.maxAbs), Array.from(b.maxAbs));
    a.meanAbs.forEach((m, c) => assert.ok(Math.abs(m - b.meanAbs[c]) <= 1e-6 * Math.max(1, b.meanAbs[c]), `mean ${c}`));
  }
});

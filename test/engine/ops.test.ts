// The fused ops (batch norm with optional ReLU, softmax cross-entropy) against their plain-tf
// references, and finite-difference gradient checks of the smooth ones.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { batchNormInfer, batchNormInferReference, batchNormTrain, batchNormTrainReference } from '../../src/engine/ops/batchnorm.js';
import { softmaxCrossEntropy, softmaxCrossEntropyReference } from '../../src/engine/ops/softmax-xent.js';
import { engine, rand, relErr } from '../helpers/compare.js';

before(async () => {
  await engine();
});

function arrays(ts: Tensor[]): Float32Array[] {
  return ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
}

for (const shape of [
  [8, 5],
  [4, 6, 7, 3],
  [1, 3, 3, 16],
  [64, 4, 4, 8],
]) {
  for (const relu of [false, true]) {
    test(`batch norm train ${shape} relu=${relu}: outputs, statistics and gradients match the reference`, () => {
      const c = shape[shape.length - 1];
      // An offset mean makes a naive E[x^2]-E[x]^2 variance lose digits; the kernel must not.
      const x = tf.add(rand(shape, 1), 3),
        g = tf.add(rand([c], 2), 1.5),
        b = rand([c], 3);
      const w = rand(shape, 4);
      const loss = (f: typeof batchNormTrain) => (xx: Tensor, gg: Tensor, bb: Tensor) => tf.sum(tf.mul(f(xx, gg, bb, 1e-5, relu).y, w));
      const nat = batchNormTrain(x, g, b, 1e-5, relu),
        ref = batchNormTrainReference(x, g, b, 1e-5, relu);
      const [n1, n2, n3] = arrays([nat.y, nat.mean, nat.variance]),
        [r1, r2, r3] = arrays([ref.y, ref.mean, ref.variance]);
      assert.ok(relErr(n1, r1) < 1e-4 && relErr(n2, r2) < 1e-4 && relErr(n3, r3) < 1e-4, 'forward');
      const gn = arrays(tf.grads(loss(batchNormTrain))([x, g, b])),
        gr = arrays(tf.grads(loss(batchNormTrainReference))([x, g, b]));
      gn.forEach((a, i) => assert.ok(relErr(a, gr[i]) < 1e-4, `gradient ${i}: ${relErr(a, gr[i])}`));
    });
  }
}

test('batch norm inference equals tf.batchNorm (+ ReLU), gradients included', () => {
  const x = rand([3, 4, 4, 6], 9),
    g = rand([6], 1),
    b = rand([6], 2),
    m = rand([6], 3),
    v = tf.add(tf.abs(rand([6], 4)), 0.1);
  const w = rand([3, 4, 4, 6], 5);
  for (const relu of [false, true]) {
    assert.ok(
      relErr(batchNormInfer(x, g, b, m, v, 1e-3, relu).dataSync(), batchNormInferReference(x, g, b, m, v, 1e-3, relu).dataSync()) < 1e-5,
    );
    const f = (fn: typeof batchNormInfer) => (a: Tensor, c: Tensor, d: Tensor) => tf.sum(tf.mul(fn(a, c, d, m, v, 1e-3, relu), w));
    const gn = arrays(tf.grads(f(batchNormInfer))([x, g, b])),
      gr = arrays(tf.grads(f(batchNormInferReference))([x, g, b]));
    gn.forEach((a, i) => assert.ok(relErr(a, gr[i]) < 1e-5, `relu=${relu} gradient ${i}: ${relErr(a, gr[i])}`));
  }
});

test('softmax cross-entropy: value and gradient match the reference; bad labels are refused', () => {
  const z = tf.mul(rand([7, 10], 5), 4),
    y = tf.tensor1d([0, 9, 3, 3, 5, 1, 2], 'int32');
  assert.ok(Math.abs(softmaxCrossEntropy(z, y).dataSync()[0] - softmaxCrossEntropyReference(z, y).dataSync()[0]) < 1e-5);
  const g1 = tf.grad((t: Tensor) => softmaxCrossEntropy(t, y))(z),
    g2 = tf.grad((t: Tensor) => softmaxCrossEntropyReference(t, y))(z);
  assert.ok(relErr(g1.dataSync(), g2.dataSync()) < 1e-5);
  assert.throws(() => softmaxCrossEntropy(z, tf.tensor1d([0, 1], 'int32')), /expected logits \[B, K\] and labels \[B\]/);
  assert.throws(() => softmaxCrossEntropy(z, tf.tensor1d([0, 1, 2, 3, 4, 5, 6], 'float32')), /labels must be int32/);
  assert.throws(() => softmaxCrossEntropy(z, tf.tensor1d([0, 1, 2, 3, 4, 5, 60], 'int32')).dataSync(), /label 60 out of range/);
});

/** Central finite differences of a scalar function on float64 copies of the inputs. */
function numericGrad(f: (xs: Tensor[]) => number, xs: Tensor[], which: number, probes: number[], h = 1e-2): number[] {
  return probes.map((p) => {
    const base = Float32Array.from(xs[which].dataSync() as Float32Array);
    const at = (delta: number) => {
      const v = base.slice();
      v[p] += delta;
      const ys = xs.slice();
      ys[which] = tf.tensor(v, xs[which].shape);
      return f(ys);
    };
    return (at(h) - at(-h)) / (2 * h);
  });
}

test('gradient check: batch norm (no ReLU) and softmax cross-entropy against finite differences', () => {
  const x = rand([6, 2, 2, 3], 3),
    g = tf.add(rand([3], 4), 1.2),
    b = rand([3], 5),
    w = rand([6, 2, 2, 3], 6);
  const f = (xs: Tensor[]) => tf.tidy(() => tf.sum(tf.mul(batchNormTrain(xs[0], xs[1], xs[2], 1e-5, false).y, w)).dataSync()[0]);
  const analytic = tf
    .grads((a: Tensor, c: Tensor, d: Tensor) => tf.sum(tf.mul(batchNormTrain(a, c, d, 1e-5, false).y, w)))([x, g, b])
    .map((t) => t.dataSync());
  for (const which of [0, 1, 2]) {
    const probes = which === 0 ? [0, 5, 17, 40, 71] : [0, 1, 2];
    const num = numericGrad(f, [x, g, b], which, probes);
    probes.forEach((p, i) =>
      assert.ok(
        Math.abs(num[i] - analytic[which][p]) < 2e-2 * Math.max(1, Math.abs(num[i])),
        `bn input ${which}[${p}]: ${num[i]} vs ${analytic[which][p]}`,
      ),
    );
  }
  const z = rand([4, 5], 8),
    y = tf.tensor1d([1, 0, 4, 2], 'int32');
  const fz = (xs: Tensor[]) => tf.tidy(() => softmaxCrossEntropy(xs[0], y).dataSync()[0]);
  const gz = tf
    .grad((t: Tensor) => softmaxCrossEntropy(t, y))(z)
    .dataSync();
  const probes = [0, 3, 7, 11, 19];
  numericGrad(fz, [z], 0, probes, 1e-3).forEach((v, i) => assert.ok(Math.abs(v - gz[probes[i]]) < 1e-3, `xent[${probes[i]}]`));
});

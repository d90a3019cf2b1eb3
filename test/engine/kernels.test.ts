// Every native kernel against stock tfjs on random shapes (strides, padding modes, 1x1, batch 1,
// odd sizes), outputs and gradients, to <= 1e-4 relative error.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { makeRng } from '../../src/data/rng.js';
import { engine, rand, worstError } from '../helpers/compare.js';
import { activeAddon } from '../../src/engine/addon-state.js';

const TOL = 1e-4;
let native = false;
before(async () => {
  native = await engine();
});

function pick<T>(r: ReturnType<typeof makeRng>, xs: T[]): T {
  return xs[r.int(xs.length)];
}

test('native addon is loaded (the suite must exercise native kernels)', () => {
  assert.ok(native || process.env.LOWBIT_NATIVE === '0', 'native addon missing: run `npm run build:native`');
});

test('conv2d forward and both gradients match stock on random shapes', () => {
  const r = makeRng(11);
  for (let i = 0; i < 24; i++) {
    const n = pick(r, [1, 2, 3]);
    const h = 3 + r.int(10),
      w = 3 + r.int(10);
    const cin = pick(r, [1, 3, 4, 7]),
      cout = pick(r, [1, 2, 5, 8]);
    const k = pick(r, [1, 2, 3, 5]);
    const s = pick(r, [1, 2, 3]);
    const pad = pick<'same' | 'valid' | number>(r, ['same', 'valid', 0, 1]);
    const p = typeof pad === 'number' ? pad : 0;
    if (pad !== 'same' && (h + 2 * p < k || w + 2 * p < k)) continue;
    const x = rand([n, h, w, cin], i),
      f = rand([k, k, cin, cout], 100 + i);
    const err = worstError(() => {
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, pad);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), y)))([
        x,
        f,
      ]);
      return [y, dx, df];
    });
    assert.ok(err <= TOL, `conv ${[n, h, w, cin]} k${k} s${s} ${pad}: rel err ${err}`);
  }
});

test('conv2d with dilation, and fused conv with bias and ReLU', () => {
  const x = rand([2, 9, 11, 3], 1),
    f = rand([3, 3, 3, 4], 2),
    b = rand([4], 3);
  assert.ok(worstError(() => [tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2)]) <= TOL);
  for (const activation of ['linear', 'relu'] as const) {
    const err = worstError(() => {
      const g = tf.grads((a: tf.Tensor, w: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: c, activation }))),
      );
      return [
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'valid', bias: b, activation }),
        ...g([x, f, b]),
      ];
    });
    assert.ok(err <= TOL, `fused ${activation}: ${err}`);
  }
});

test('depthwise conv2d (oneDNN grouped convolution) forward and both gradients match stock on random shapes', () => {
  const r = makeRng(17);
  let ran = 0;
  for (let i = 0; i < 24; i++) {
    const n = pick(r, [1, 2, 3]);
    const h = 3 + r.int(10),
      w = 3 + r.int(10);
    const c = pick(r, [1, 3, 8, 16]),
      m = pick(r, [1, 1, 2]);
    const k = pick(r, [1, 3, 5]);
    const s = pick(r, [1, 2]);
    const pad = pick<'same' | 'valid'>(r, ['same', 'valid']);
    if (pad === 'valid' && (h < k || w < k)) continue;
    const x = rand([n, h, w, c], i),
      f = rand([k, k, c, m], 200 + i);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad);
    const err = worstError(() => {
      const y = conv(x, f);
      return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), y)))([x, f])];
    });
    assert.ok(err <= TOL, `depthwise ${[n, h, w, c]}×${m} k${k} s${s} ${pad}: rel err ${err}`);
    ran++;
  }
  assert.ok(ran >= 18, `only ${ran} shapes ran`);
  // The native kernels ran (a kernel that declined would leave the comparison to stock tfjs alone).
  const addon = activeAddon() as unknown as { convCacheSize(): number } | null;
  if (addon) {
    const before = addon.convCacheSize();
    tf.tidy(() => tf.depthwiseConv2d(rand([1, 7, 7, 5], 9) as tf.Tensor4D, rand([3, 3, 5, 2], 10) as tf.Tensor4D, 1, 'same').dataSync());
    assert.equal(addon.convCacheSize(), before + 1, 'no oneDNN primitive was made for the depthwise conv');
  }
  // Dilated (forward only: tfjs has no depthwise gradient with dilation).
  const x = rand([2, 9, 9, 4], 1),
    f = rand([3, 3, 4, 2], 2);
  assert.ok(worstError(() => [tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2)]) <= TOL);
});

test('clipByValue (ReLU6) forward and gradient match stock, bounds inclusive', () => {
  // Values exactly at the bounds: tfjs passes the gradient there.
  const x = tf.concat([
    tf.mul(rand([4, 9, 9, 5], 3), 8),
    tf.tensor([0, 6, -0, 6.000001, -1e-7], [1, 5]).reshape([1, 1, 1, 5]).tile([1, 9, 9, 1]),
  ]);
  const err = worstError(() => {
    const y = tf.clipByValue(x, 0, 6);
    return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(a, 0, 6), y)))(x)];
  });
  assert.ok(err === 0, `clip: ${err}`);
  x.dispose();
});

test('matmul: transposes, batches, broadcast, fused bias + ReLU, gradients', () => {
  const r = makeRng(5);
  for (let i = 0; i < 16; i++) {
    const m = 1 + r.int(17),
      k = 1 + r.int(19),
      n = 1 + r.int(13);
    const tA = r.next() < 0.5,
      tB = r.next() < 0.5;
    const a = rand(tA ? [k, m] : [m, k], i),
      b = rand(tB ? [n, k] : [k, n], 50 + i);
    const err = worstError(() => {
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q, tA, tB))));
      return [tf.matMul(a, b, tA, tB), ...g([a, b])];
    });
    assert.ok(err <= TOL, `matmul ${m}x${k}x${n} ${tA} ${tB}: ${err}`);
  }
  const a3 = rand([3, 4, 5], 1),
    b3 = rand([3, 5, 2], 2),
    b2 = rand([1, 5, 2], 3),
    bias = rand([2], 4);
  assert.ok(worstError(() => [tf.matMul(a3, b3), tf.matMul(a3, b2)]) <= TOL);
  for (const activation of ['linear', 'relu'] as const) {
    const x = rand([6, 5], 7),
      w = rand([5, 2], 8);
    const err = worstError(() => {
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: c, activation }))),
      );
      return [tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias, activation }), ...g([x, w, bias])];
    });
    assert.ok(err <= TOL, `fused matmul ${activation}: ${err}`);
  }
});

test('max and average pooling with gradients (valid, same, overlapping windows)', () => {
  const cases: [number[], number, number, 'same' | 'valid'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[1, 7, 9, 4], 2, 2, 'valid'],
    [[3, 9, 9, 2], 3, 2, 'valid'],
    [[2, 7, 7, 5], 3, 2, 'same'],
    [[1, 5, 6, 1], 3, 1, 'same'],
  ];
  cases.forEach(([shape, k, s, pad], i) => {
    const x = rand(shape, 30 + i);
    const errMax = worstError(() => [
      tf.maxPool(x as tf.Tensor4D, k, s, pad),
      tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, k, s, pad))))(x),
    ]);
    assert.ok(errMax <= TOL, `maxPool ${shape} ${k}/${s} ${pad}: ${errMax}`);
    const errAvg = worstError(() => [tf.avgPool(x as tf.Tensor4D, k, s, pad)]);
    assert.ok(errAvg <= TOL, `avgPool ${shape} ${k}/${s} ${pad}: ${errAvg}`);
    // Stock AvgPoolGrad divides border windows of 'same' padding by the full window size,
    // which is not the gradient of its own forward pass; compare gradients on 'valid' only.
    if (pad === 'valid') {
      const errG = worstError(() => [tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.avgPool(a as tf.Tensor4D, k, s, pad))))(x)]);
      assert.ok(errG <= TOL, `avgPool grad ${shape}: ${errG}`);
    }
  });
});

test('element-wise ops with broadcasting, ReLU gradient, Sum and Mean reductions', () => {
  const a = rand([4, 3, 5, 6], 1),
    b = rand([6], 2),
    c = rand([4, 1, 1, 6], 3),
    d = rand([1, 3, 1, 1], 4),
    e = rand([4, 3, 5, 6], 5);
  const pos = tf.add(tf.abs(d), 0.5);
  const err = worstError(() => [
    tf.add(a, b),
    tf.sub(a, c),
    tf.mul(c, a),
    tf.div(a, pos),
    tf.add(a, e),
    tf.mul(a, tf.scalar(3)),
    tf.sub(tf.scalar(1), a),
    tf.relu(a),
    tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), e)))(a),
    tf.sum(a, [0, 1, 2]),
    tf.sum(a, [0, 1, 2], true),
    tf.mean(a, [1, 2]),
    tf.mean(a, [0, 1, 2]),
    tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.mean(x, [1, 2]))))(a),
    tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.add(x, y))))([a, b])[1],
  ]);
  assert.ok(err <= TOL, `elementwise: ${err}`);
});

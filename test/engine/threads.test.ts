// Thread count is configurable and oneDNN primitives are cached per shape and thread count.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { engineInfo, setThreads } from '../../src/engine/setup.js';
import { loadNative } from '../../src/engine/native.js';
import { engine, rand, relErr } from '../helpers/compare.js';

let native = false;
before(async () => {
  native = await engine();
});

test('results do not depend on the thread count; primitives are cached per shape and thread count', { skip: !loadNative().addon }, () => {
  const addon = loadNative().addon!;
  const original = engineInfo().threads;
  const x = rand([2, 11, 13, 5], 1),
    f = rand([3, 3, 5, 7], 2);
  const run = () =>
    tf
      .conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')
      .dataSync()
      .slice();
  const before = addon.convCacheSize();
  const y1 = run();
  const afterFirst = addon.convCacheSize();
  run();
  assert.equal(addon.convCacheSize(), afterFirst, 'same shape and threads reuses the cached primitive');
  assert.ok(afterFirst >= before, 'cache grows only with new shapes');
  setThreads(1);
  assert.equal(engineInfo().threads, 1);
  const y2 = run();
  assert.equal(addon.convCacheSize(), afterFirst + 1, 'a new thread count creates a new primitive');
  assert.ok(relErr(y2, y1) < 1e-5);
  setThreads(original);
  assert.ok(native);
  assert.throws(() => setThreads(0), /Error: threads 0: expected 1 to \d+ \(the cores of this machine\)/);
  assert.throws(() => setThreads(1000), /Error: threads 1000: expected 1 to \d+/);
});

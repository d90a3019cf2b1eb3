// Activation refits in training fit a sample of the batch (plus its exact extremes): the grid is
// the one the whole batch gives, within the noise of a batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { Quantizer } from '../../src/nn/quantizer.js';
import { formatOf } from '../../src/quant/registry.js';
import { engine } from '../helpers/compare.js';

await engine();

test('an MSE-calibrated activation refit on a large batch picks the clip the whole batch gives', () => {
  const spec = { format: 'int', bits: 4, signed: false, calibration: 'mse' } as const;
  // ReLU-like activations with a long tail: the MSE clip sits well inside the range.
  const n = 1 << 20;
  const v = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const u = (s + 0.5) / 4294967296;
    v[i] = i % 3 === 0 ? 0 : -Math.log(u);
  }
  const qz = new Quantizer(spec, 'activation');
  tf.tidy(() => qz.apply(tf.tensor4d(v, [16, 16, 64, 64]), true));
  const sampled = (qz.state.params as { scale: number[] }).scale[0];
  const full = (formatOf(qz.spec).fit(v, [n], qz.spec as never) as { scale: number[] }).scale[0];
  const maxabs = v.reduce((m, x) => Math.max(m, x), 0) / 15;
  assert.ok(Math.abs(sampled - full) / full < 0.03, `sampled ${sampled} vs whole batch ${full}`);
  assert.ok(full < maxabs, 'the MSE clip is inside the range');
});

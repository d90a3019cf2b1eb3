// Hutchinson traces on a quadratic whose Hessian is known by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { hutchinsonTraces } from '../../src/search/hessian.js';
import { engine } from '../helpers/compare.js';

await engine();

test('Hessian traces of a known quadratic, with convergence, and the weights restored exactly', () => {
  // L = Σ a_i u_i² + Σ b_j w_j² + c·u_0·w_0: the diagonal blocks are diag(2a) and diag(2b), so
  // the traces are 2·Σa = 2·(1 + 2 + 3) = 12 and 2·Σb = 2·(0.5 + 4) = 9; the cross term only adds noise.
  const a = tf.tensor1d([1, 2, 3]),
    b = tf.tensor1d([0.5, 4]);
  const u = tf.variable(tf.tensor1d([0.3, -1.2, 2.0])),
    w = tf.variable(tf.tensor1d([1.5, -0.7]));
  const before = [Array.from(u.dataSync()), Array.from(w.dataSync())];
  const grads = () => {
    const { grads: g } = tf.variableGrads(
      () =>
        tf.addN([
          tf.sum(tf.mul(a, tf.square(u))),
          tf.sum(tf.mul(b, tf.square(w))),
          tf.mul(0.8, tf.mul(u.gather([0]), w.gather([0]))).sum(),
        ]) as tf.Scalar,
      [u, w],
    );
    return [g[u.name], g[w.name]];
  };
  const r = hutchinsonTraces([u, w], [[0], [1]], grads, { seed: 3, maxProbes: 200, tol: 0.01 });
  assert.ok(r.converged, `converged after ${r.probes} probes (last change ${r.lastChange})`);
  assert.ok(Math.abs(r.traces[0] - 12) < 0.6, `trace 0: ${r.traces[0]}`);
  assert.ok(Math.abs(r.traces[1] - 9) < 0.6, `trace 1: ${r.traces[1]}`);
  assert.deepEqual([Array.from(u.dataSync()), Array.from(w.dataSync())], before);
  // Without cross terms every probe is exact: vᵀ diag(h) v = Σ h.
  const exact = hutchinsonTraces(
    [u],
    [[0]],
    () => [tf.variableGrads(() => tf.sum(tf.mul(a, tf.square(u))) as tf.Scalar, [u]).grads[u.name]],
    { seed: 1 },
  );
  assert.ok(Math.abs(exact.traces[0] - 12) < 1e-2, `${exact.traces[0]}`);
});

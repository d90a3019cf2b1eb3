// Product quantization's clustering (pq-em.ts): the Cholesky factor and second moment by hand,
// monotone EM under random data (fast-check), the output-weighted error steering the split, the
// mean update, and the empty-cluster repair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { cholesky, pqCluster, secondMoment } from '../../src/train/methods/pq-em.js';

test('Cholesky factor and second moment by hand', () => {
  // Σ = [[4, 2], [2, 3]] → L = [[2, 0], [1, √2]].
  const L = cholesky(Float64Array.of(4, 2, 2, 3), 2, 0);
  assert.deepEqual(
    Array.from(L, (v) => Number(v.toFixed(12))),
    [2, 0, 1, Number(Math.SQRT2.toFixed(12))],
  );
  // Blocks (1, 2) and (3, 0): Σ = [[(1 + 9)/2, (2 + 0)/2], [1, (4 + 0)/2]].
  assert.deepEqual(Array.from(secondMoment(Float32Array.of(1, 2, 3, 0), 2)), [5, 1, 1, 2]);
  assert.throws(() => cholesky(Float64Array.of(0, 0, 0, 0), 2), /not positive definite/);
  assert.throws(() => secondMoment(Float32Array.of(1, 2, 3), 2), /not whole blocks/);
});

test('EM never increases the weighted error, and every assignment is the nearest centroid', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 2, max: 40 }),
      fc.integer({ min: 1, max: 8 }),
      fc.nat(),
      (d, N, k, seed) => {
        let s = seed;
        const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5);
        const v = Float32Array.from({ length: N * d }, r);
        const x = Float32Array.from({ length: 50 * d }, r);
        const res = pqCluster(v, d, secondMoment(x, d), { k, iterations: 6, seed });
        for (let i = 1; i < res.objective.length; i++) assert.ok(res.objective[i] <= res.objective[i - 1] + 1e-9, `${res.objective}`);
        assert.equal(res.objective.length, 7);
        assert.ok(res.assign.every((a) => a < Math.min(k, N)));
      },
    ),
    { numRuns: 100 },
  );
});

test('the output-weighted error decides which coordinate the clusters split on', () => {
  // Four points: two values in coordinate 0 (±1) crossed with two in coordinate 1 (±1).
  const v = Float32Array.of(1, 1, 1, -1, -1, 1, -1, -1);
  const split = (sigma: number[]) => {
    const r = pqCluster(v, 2, Float64Array.from(sigma), { k: 2, iterations: 10, seed: 3 });
    // Points sharing coordinate 0 share a cluster iff the split is on coordinate 0.
    return r.assign[0] === r.assign[1] && r.assign[2] === r.assign[3] && r.assign[0] !== r.assign[2] ? 0 : 1;
  };
  // Inputs that make coordinate 0 matter 100× more: keep coordinate 0 exact.
  assert.equal(split([100, 0, 0, 0.01]), 0);
  assert.equal(split([0.01, 0, 0, 100]), 1);
});

test('centroids are the means of their members; empty clusters are repaired', () => {
  const v = Float32Array.of(0, 0, 0, 2, 10, 10, 10, 12);
  const r = pqCluster(v, 2, Float64Array.of(1, 0, 0, 1), { k: 2, iterations: 5, seed: 1 });
  const c = Array.from(r.centroids).map((x) => Number(x.toFixed(5)));
  const sorted = [c.slice(0, 2), c.slice(2, 4)].sort((a, b) => a[0] - b[0]);
  assert.deepEqual(sorted, [
    [0, 1],
    [10, 11],
  ]);
  // Ten copies of three points and k = 6: three centroids start on duplicates and get repaired.
  const dup = Float32Array.from({ length: 20 }, (_, i) => [0, 5, 9][Math.floor(i / 2) % 3] + (i % 2));
  const rr = pqCluster(dup, 2, Float64Array.of(1, 0, 0, 1), { k: 6, iterations: 4, seed: 2 });
  assert.ok(rr.objective[rr.objective.length - 1] < 1e-12, `exact with three distinct points: ${rr.objective}`);
});

// Sensitivities and the choice table on the committed MNIST lenet5 checkpoint, solved under a
// budget: the solution fits the budget and is never worse than uniform 4 bits when that fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { makeBatch, normalizationTable } from '../../src/data/batches.js';
import { loadDataset } from '../../src/data/load.js';
import { loadAccelerator } from '../../src/hw/config.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { choiceTable, defaultCandidates, sensitivityTerms } from '../../src/search/candidates.js';
import { solveKnapsack } from '../../src/search/knapsack.js';
import { engine } from '../helpers/compare.js';

await engine();

test('lenet5: Hessian traces, choice table and a budgeted solution', async () => {
  const ck = await loadCheckpoint('checkpoints/fp-mnist-lenet5.lbck');
  const ds = await loadDataset('mnist');
  const { x, y } = makeBatch(
    ds.train,
    ds.info,
    Uint32Array.from({ length: 128 }, (_, i) => i),
    normalizationTable(ds.info),
  );
  const cands = defaultCandidates();
  assert.equal(cands.length, 16);
  const terms = await sensitivityTerms(ck.model, x, y, cands, 'hessian', { maxProbes: 24, seed: 1 });
  const s = terms.sensitivities!;
  assert.deepEqual(
    s.map((l) => l.name),
    ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
  );
  assert.ok(s.every((l) => Number.isFinite(l.trace)));
  // Measured activation terms: 4-bit inputs never hurt less than 8-bit ones (up to noise).
  for (const n of ['conv2', 'fc1', 'fc2']) assert.ok(terms.activation(n, 4) >= terms.activation(n, 8) - 1e-3, n);
  // The measured alternative: quantizing fc1 alone at 2 bits raises the loss more than at 8 bits.
  const few = defaultCandidates(['int'], [2, 8], [8]);
  const measured = await sensitivityTerms(ck.model, x, y, few, 'measured');
  assert.ok(measured.weight('fc1', few[0]) > measured.weight('fc1', few[1]), 'measured: 2 bits cost more loss than 8');
  const accel = loadAccelerator('bitfusion');
  const table = choiceTable(ck.model, terms, cands, accel, 'latency');
  tf.dispose([x, y]);
  assert.deepEqual(
    table.map((t) => t.choices.length),
    [1, 16, 16, 16, 1],
  );
  // More weight bits never raise the predicted loss; fewer bits never cost more cycles.
  for (const t of table.filter((x) => !x.fixed)) {
    const at = (label: string) => t.choices[t.candidates.findIndex((c) => c.label === label)];
    assert.ok(at('int2/a8').value <= at('int4/a8').value + 1e-12 && at('int4/a8').value <= at('int8/a8').value + 1e-12, t.name);
    assert.ok(at('int2/a4').cost <= at('int4/a4').cost && at('int4/a4').cost <= at('int8/a8').cost, t.name);
  }
  const pick = (label: string) => table.map((t) => (t.fixed ? 0 : t.candidates.findIndex((c) => c.label === label)));
  const total = (picks: number[], k: 'cost' | 'value') => picks.reduce((a, p, i) => a + table[i].choices[p][k], 0);
  const w4 = pick('int4/a4');
  const best = solveKnapsack(
    table.map((t) => t.choices),
    total(w4, 'cost'),
  )!;
  assert.ok(best.cost <= total(w4, 'cost'));
  assert.ok(best.value >= total(w4, 'value'), 'at the cost of uniform W4A4, the search is at least as good by its proxy');
});

test('an impossible budget is refused before any sensitivity work', async () => {
  const { planSearch } = await import('../../src/search/search.js');
  const ck = await loadCheckpoint('checkpoints/fp-mnist-lenet5.lbck');
  const ds = await loadDataset('mnist');
  const t0 = performance.now();
  await assert.rejects(
    planSearch(ck.model, ds, { accel: 'bitfusion', objective: 'latency', budgets: [0.7, 0.01], sensitivity: 'hessian' }),
    /budget 0.01 is below the cheapest configuration \(0\.\d{3} of INT8\)/,
  );
  // Hessian probes on lenet5 take seconds; the refusal comes from the cost table alone.
  assert.ok(performance.now() - t0 < 3000, `refused after ${(performance.now() - t0).toFixed(0)} ms`);
});

// The exact multiple-choice knapsack against brute force on random instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { paretoSolutions, solveKnapsack, type Choice } from '../../src/search/knapsack.js';

function brute(layers: Choice[][], budget: number): number | null {
  let best: number | null = null;
  const rec = (i: number, cost: number, value: number) => {
    if (cost > budget) return;
    if (i === layers.length) {
      if (best === null || value > best) best = value;
      return;
    }
    for (const c of layers[i]) rec(i + 1, cost + c.cost, value + c.value);
  };
  rec(0, 0, 0);
  return best;
}

const choice = fc.record({ cost: fc.integer({ min: 1, max: 50 }), value: fc.integer({ min: -30, max: 30 }) });

test('the knapsack solution equals brute force, and its picks add up to its cost and value', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(choice, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 200 }),
      (layers, budget) => {
        const s = solveKnapsack(layers, budget);
        const b = brute(layers, budget);
        assert.equal(s?.value ?? null, b);
        if (s) {
          assert.equal(s.picks.length, layers.length);
          assert.equal(
            s.picks.reduce((a, p, i) => a + layers[i][p].cost, 0),
            s.cost,
          );
          assert.equal(
            s.picks.reduce((a, p, i) => a + layers[i][p].value, 0),
            s.value,
          );
          assert.ok(s.cost <= budget);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('the Pareto set is non-dominated and sorted; a 20-layer, 16-candidate instance solves in well under a second', () => {
  const layers: Choice[][] = Array.from({ length: 20 }, (_, i) =>
    Array.from({ length: 16 }, (_, j) => ({
      cost: (1 + ((i * 7 + j * 13) % 29)) * (1 + j / 4),
      value: -((j * 31 + i * 17) % 23) / (1 + j),
    })),
  );
  const t0 = performance.now();
  const front = paretoSolutions(layers);
  const s = solveKnapsack(layers, front[Math.floor(front.length / 2)].cost);
  assert.ok(performance.now() - t0 < 1000);
  for (let i = 1; i < front.length; i++) assert.ok(front[i].cost >= front[i - 1].cost && front[i].value > front[i - 1].value);
  assert.ok(s && s.value === front[Math.floor(front.length / 2)].value);
  assert.throws(() => solveKnapsack([[]], 1), /layer 0 has no candidate/);
  assert.equal(solveKnapsack([[{ cost: 5, value: 1 }]], 4), null);
});

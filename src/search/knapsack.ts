// The multiple-choice knapsack of mixed-precision search (SPEC.md §4): one candidate per layer,
// maximise the summed value (an accuracy proxy) with the summed cost (latency, energy or size)
// within a budget. Solved exactly by merging per-layer Pareto sets: after each layer only the
// (cost, value) pairs no other pair beats on both are kept, so the search is exact without
// discretising the costs, and the sets stay small (at most the number of distinct costs).

export interface Choice {
  cost: number;
  value: number;
}

export interface Solution {
  /** Index of the chosen candidate of every layer. */
  picks: number[];
  cost: number;
  value: number;
}

interface Partial {
  cost: number;
  value: number;
  /** Choice of the last layer, and the partial solution it extends. */
  pick: number;
  prev: Partial | null;
}

function paretoPrune(list: Partial[], budget: number): Partial[] {
  list.sort((a, b) => a.cost - b.cost || b.value - a.value);
  const out: Partial[] = [];
  let best = -Infinity;
  for (const p of list) {
    if (p.cost > budget) break;
    if (p.value > best) {
      out.push(p);
      best = p.value;
    }
  }
  return out;
}

/** Every non-dominated solution with cost within the budget (ascending cost, ascending value). */
export function paretoSolutions(layers: Choice[][], budget = Infinity): Solution[] {
  if (layers.length === 0) return [{ picks: [], cost: 0, value: 0 }];
  for (const [i, cs] of layers.entries()) {
    if (cs.length === 0) throw new Error(`layer ${i} has no candidate`);
    for (const c of cs)
      if (!Number.isFinite(c.cost) || !Number.isFinite(c.value)) throw new Error(`layer ${i}: candidate costs and values must be finite`);
  }
  let front: Partial[] = [{ cost: 0, value: 0, pick: -1, prev: null }];
  for (const cs of layers) {
    const next: Partial[] = [];
    for (const p of front) cs.forEach((c, j) => next.push({ cost: p.cost + c.cost, value: p.value + c.value, pick: j, prev: p }));
    front = paretoPrune(next, budget);
    if (front.length === 0) return [];
  }
  return front.map((p) => {
    const picks: number[] = [];
    for (let q: Partial | null = p; q && q.pick >= 0; q = q.prev) picks.push(q.pick);
    return { picks: picks.reverse(), cost: p.cost, value: p.value };
  });
}

/** The best solution within the budget, or null if even the cheapest choice exceeds it. */
export function solveKnapsack(layers: Choice[][], budget: number): Solution | null {
  const all = paretoSolutions(layers, budget);
  return all.length ? all[all.length - 1] : null;
}

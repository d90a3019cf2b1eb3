// The issue 7 section of docs/RESULTS.md: hardware-aware search fronts with their baselines.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { experiments, type SearchExperiment } from './registry.js';
import { accuracySE, minutes, pct, points, provenance, TEST_IMAGES } from './render-util.js';
import type { FrontPoint } from '../src/search/search.js';
import type { RunRecord } from './record.js';

interface SearchRecord {
  id: string;
  front: FrontPoint[];
  wallSeconds: number;
  gitCommit: string;
  gitDirty: boolean;
  machine: RunRecord['machine'];
  finishedAt: string;
}

export function renderSearch(): string[] {
  const list = experiments.filter((e): e is SearchExperiment => e.group === 'search');
  if (!list.length) return [];
  const lines = [
    '',
    '## Hardware-aware mixed-precision search (issue 7)',
    '',
    "Per layer: int or dybit weights at 2, 3, 4 or 8 bits and int activations at 4 or 8 bits (first conv and last FC fixed at 8 bits), costed on the accelerator model and valued by the HAWQ-V2 proxy (Hessian trace × weight MSE) plus the measured loss increase of the activation width; the multiple-choice knapsack is solved exactly per budget (a fraction of the INT8 configuration's cost), and at exactly the cost of uniform W4A4. Every configuration — searched, uniform W4A4 and W8A8, and a random configuration under the same budget — is retrained with the same QAT epochs from the same FP checkpoint and simulated.",
    'Issue 7 targets: at the latency of uniform W4A4 the searched configuration is at least as accurate; at equal accuracy it is ≥ 1.2× faster. DyBit paper: up to 8.1× speedup against the original model.',
    '',
  ];
  for (const e of list) {
    const f = path.join(process.cwd(), 'results', `${e.id}.json`);
    lines.push(`### ${e.title}`, '');
    if (!existsSync(f)) {
      lines.push(`Not run yet: \`node dist/experiments/run.js ${e.id}\`.`, '');
      continue;
    }
    const r = JSON.parse(readFileSync(f, 'utf8')) as SearchRecord;
    lines.push(
      `${e.settings.epochs} QAT epochs per point; ${provenance(r)}; ${minutes(r.wallSeconds)} in all.`,
      '',
      '| point | budget | test accuracy | latency (ms) | vs FP32 | vs INT8 | energy (µJ) | weights (KB) | layers |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const p of r.front)
      lines.push(
        `| ${p.atW4A4 ? 'searched @ W4A4 cost' : p.kind} | ${p.budget === null ? '' : p.budget.toFixed(3)} | ${pct(p.accuracy)} | ${p.latencyMs.toFixed(4)} | ${p.speedupVsFp32.toFixed(2)}× | ${p.speedupVsInt8.toFixed(2)}× | ${p.energyUj.toFixed(2)} | ${(p.weightBytes / 1024).toFixed(1)} | ${p.layers.map((l) => `${l.name} ${l.candidate}`).join(', ')} |`,
      );
    const w4 = r.front.find((p) => p.kind === 'uniform-w4a4');
    const at = r.front.find((p) => p.atW4A4);
    if (w4 && at) {
      const faster = r.front.filter((p) => p.kind === 'searched' && p.accuracy >= w4.accuracy).sort((a, b) => a.latencyMs - b.latencyMs)[0];
      lines.push(
        '',
        `At the cost of uniform W4A4: searched ${pct(at.accuracy)} vs ${pct(w4.accuracy)} (${at.accuracy >= w4.accuracy ? 'at least as accurate ✓' : 'less accurate ✗'}). ` +
          (faster
            ? `Fastest searched point at least as accurate as W4A4: ${(w4.latencyMs / faster.latencyMs).toFixed(2)}× faster (${w4.latencyMs / faster.latencyMs >= 1.2 ? '✓' : '✗'} ≥ 1.2×).`
            : 'No searched point reached the accuracy of W4A4 ✗.'),
      );
      // One seed per point: say how large a difference the test set can resolve.
      const se = accuracySE;
      const sd = Math.hypot(se(at.accuracy), se(w4.accuracy));
      lines.push(
        '',
        `Noise: each accuracy is one retraining measured on ${TEST_IMAGES.toLocaleString('en-US')} test images, a binomial standard error of ±${(100 * se(w4.accuracy)).toFixed(2)} points; the difference at the W4A4 cost is ${points(100 * (at.accuracy - w4.accuracy))} points, ${(Math.abs(at.accuracy - w4.accuracy) / sd).toFixed(1)} standard errors of a difference.`,
      );
    }
    lines.push('');
  }
  return lines;
}

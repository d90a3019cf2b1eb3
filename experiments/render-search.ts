// The issue 7 section of docs/RESULTS.md: hardware-aware search fronts with their baselines.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { experiments, type SearchExperiment } from './registry.js';
import { accuracySE, minutes, pct, points, provenance, TEST_IMAGES } from './render-util.js';
import type { FrontPoint } from '../src/search/search.js';
import type { RunRecord } from './record.js';
import { prose } from './prose.js';

const md = prose('render-search');

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
    md('per-layer-int-or-dybit'),
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
        md('table-row', {
          value: p.atW4A4 ? 'searched @ W4A4 cost' : p.kind,
          value2: p.budget === null ? '' : p.budget.toFixed(3),
          accuracy: pct(p.accuracy),
          latencyMs: p.latencyMs.toFixed(4),
          speedupVsFp32: p.speedupVsFp32.toFixed(2),
          speedupVsInt8: p.speedupVsInt8.toFixed(2),
          energyUj: p.energyUj.toFixed(2),
          weightBytes: (p.weightBytes / 1024).toFixed(1),
          value3: layerColumn(p.layers),
        }),
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
        md('noise-each-accuracy-is-one', {
          TEST_IMAGES: TEST_IMAGES.toLocaleString('en-US'),
          accuracy: (100 * se(w4.accuracy)).toFixed(2),
          accuracy2: points(100 * (at.accuracy - w4.accuracy)),
          sd: (Math.abs(at.accuracy - w4.accuracy) / sd).toFixed(1),
        }),
      );
    }
    lines.push('');
  }
  return lines;
}

/**
 * The layers of a configuration: each one named for small models; for models of many layers (a
 * mobilenet has 26) how many layers took each candidate (the full list is in the record).
 */
function layerColumn(layers: { name: string; candidate: string }[]): string {
  if (layers.length <= 8) return layers.map((l) => `${l.name} ${l.candidate}`).join(', ');
  const counts = new Map<string, number>();
  for (const l of layers) counts.set(l.candidate, (counts.get(l.candidate) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([c, n]) => `${c} ×${n}`)
    .join(', ');
}

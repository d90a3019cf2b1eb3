// The issue 9 section of docs/RESULTS.md: the related methods of the seed page (SLB; ESB
// retraining, which is the format table's esb rows) against uniform QAT on the same grid and
// budget.
import { experiments, type QuantExperiment } from './registry.js';
import type { RunRecord } from './record.js';
import { minutes, pct, points } from './render-util.js';

type Records = Map<string, RunRecord>;

export function renderRelatedMethods(records: Records): string[] {
  const quant = experiments.filter((e): e is QuantExperiment => e.group === 'quant');
  const rows = quant.filter((e) => e.table === 'related' || (e.table === 'formats' && e.options.format === 'esb'));
  if (!rows.some((e) => e.table === 'related')) return [];
  const lines = [
    '',
    '## Related methods (issue 9)',
    '',
    "SLB (per-weight logits over the grid values, softmax with a temperature rising geometrically from 1 to 50, argmax at the end) against uniform STE QAT on the same MSE-fitted int grid with the same epochs; ESB retraining (the distribution difference aligner refitting α every step) is the format table's esb rows. Issue 9 target: SLB at 2 bits at least as accurate as STE at 2 bits.",
    '',
    '| experiment | method | weights / activations | test accuracy | baseline (same budget) | Δ (points) | target | epochs | wall time |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const e of rows) {
    const r = records.get(e.id);
    const o = e.options;
    const wa = `${o.format ?? 'int'} W${o.wbits} / int A${o.abits}`;
    const target = e.table === 'related' && o.wbits === 2 ? '≥ +0.00' : '';
    // ESB rows are measured against int on the same budget (the format table's int rows).
    const baseId = e.table === 'formats' ? `${e.base}.fmt-int-w${o.wbits}a4` : e.compareTo;
    const method = o.method === 'ste' ? 'esb (aligner)' : o.method;
    const b = baseId ? records.get(baseId) : undefined;
    if (!r) {
      lines.push(
        `| ${e.id} | ${method} | ${wa} | not run yet (\`node dist/experiments/run.js ${e.id}\`) | | | ${target} | ${o.epochs} | |`,
      );
      continue;
    }
    const d = b ? 100 * (r.final.testAccuracy - b.final.testAccuracy) : null;
    const met = target && d !== null ? (d >= 0 ? ' ✓' : ' ✗') : '';
    lines.push(
      `| ${e.id} | ${method} | ${wa} | ${pct(r.final.testAccuracy)} | ${b ? `${pct(b.final.testAccuracy)} (${baseId})` : baseId ? `${baseId} not run yet` : '—'} | ${d === null ? '' : points(d)} | ${target}${met} | ${r.history.length} | ${minutes(r.wallSeconds)} |`,
    );
  }
  return [...lines, ''];
}

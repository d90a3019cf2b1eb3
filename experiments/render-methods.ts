// docs/METHODS.md: one section per retraining method — what it does, when to use it, what it
// costs, and what it achieved here. The prose is fixed; every number comes from results/*.json
// (the experiment records) and results/bench-method-step.json when they exist.
// Usage: node dist/experiments/render-methods.js
import type { SlbSummary } from '../src/train/methods/slb.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.js';
import { readRecords, type RunRecord } from './record.js';
import { experiments } from './registry.js';
import { pct, points } from './render-util.js';
import { writeMethodFigures } from './render-figures.js';
import { intReferenceId } from './seed-methods.js';
import { prose } from './prose.js';

const md = prose('render-methods');

const root = process.cwd();

interface StepRow {
  model: string;
  method: string;
  ratio: number;
}

function stepRatios(): StepRow[] {
  const f = path.join(root, 'results', 'bench-method-step.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { rows: StepRow[] }).rows : [];
}

interface Method {
  name: string;
  title: string;
  what: string;
  when: string;
  memory: string;
  /** What the records measured of that memory, appended to it. */
  measured?: (recs: Map<string, RunRecord>) => string;
  /** Paragraphs after the table, built from the records (how the runs behaved). */
  after?: (recs: Map<string, RunRecord>) => string[];
  /** Bench label prefixes of its step-time rows. */
  bench: string[];
  /** [row, baseline] experiment ids. */
  rows: [string, string | null][];
}

// The bases with method rows, in registry order.
const bases = [...new Set(experiments.flatMap((e) => (e.group === 'quant' && e.table ? [e.base] : [])))];
const perBase = (f: (b: string) => [string, string | null][]) => bases.flatMap(f);

const methods: Method[] = [
  {
    name: 'ptq',
    title: 'Post-training quantization (`--method ptq`)',
    what: 'No retraining: weights are fitted per channel, activations calibrated on a few training batches by min-max, percentile or MSE search.',
    when: 'First try at 8 bits, where it loses almost nothing; at 4 bits it is the floor the retraining methods are measured from.',
    memory: 'The model plus a sample of activations per layer for calibration.',
    bench: [],
    rows: perBase((b) => [
      [`${b}.ptq-w8a8`, null],
      [`${b}.ptq-w4a4`, null],
    ]),
  },
  {
    name: 'ste',
    title: 'Quantization-aware training with straight-through gradients (`--method ste`)',
    what: md('retrains-with-every-weight-and'),
    when: 'The baseline of every retraining comparison and the workhorse at 4 bits and up; at 2 bits with max-abs grids it collapses to a ternary grid at the extremes (use lsq or MSE grids there).',
    memory: 'The float model and its optimizer state; quantizer parameters are per channel.',
    bench: [],
    rows: perBase((b) => [
      [`${b}.ste-int-w4a4`, null],
      [`${b}.ste-int-w2a2`, null],
    ]),
  },
  {
    name: 'lsq',
    title: 'Learned step size with PACT activations (`--method lsq`)',
    what: 'Weights quantized with a learned step per channel (gradient scaled by 1/√(N·Qp)), activations clipped at a learned α (PACT) then quantized unsigned.',
    when: 'The strongest uniform baseline at 2–3 bits: the step and the clip follow the weights instead of their extremes.',
    memory: 'One step per output channel and one clip per layer on top of ste.',
    bench: [],
    rows: perBase((b) => [
      [`${b}.lsq-w4a4`, `${b}.ste-int-w4a4`],
      [`${b}.lsq-w2a2`, `${b}.ste-int-w2a2`],
    ]),
  },
  {
    name: 'sq',
    title: 'Stochastic quantization (`--method sq`, Dong et al. 2017)',
    what: md('in-every-step-a-random'),
    when: md('binary-and-ternary-weights-trained'),
    memory: 'One error per channel (or a mask per weight) per step.',
    bench: ['sq'],
    rows: perBase((b) => [
      [`${b}.sq-bwn`, `${b}.ste-bwn`],
      [`${b}.sq-twn`, `${b}.ste-twn`],
    ]),
  },
  {
    name: 'mpq',
    title: 'Mixed precision by switching (`--method mpq`, Kim et al.)',
    what: md('qat-at-a-base-width'),
    when: 'When model size matters more than a uniform layout: it spends bits only where weights are undecided.',
    memory: 'One code and one switch frequency per weight during retraining; after the grant, the flags.',
    bench: ['mpq'],
    rows: perBase((b) => [
      [`${b}.mpq-w3a4`, intReferenceId(b, 3)],
      [`${b}.mpq-w2a4`, intReferenceId(b, 2)],
    ]),
  },
  {
    name: 'slb',
    title: 'Searching for low-bit weights (`--method slb`, Yang et al. 2020)',
    what: md('each-weight-chooses-among-its'),
    when: 'Very low widths (2–3 bits), where rounding a float weight to the nearest level is a poor search.',
    memory: md('j-logits-and-two-adam'),
    measured: slbMemory,
    after: slbHardening,
    bench: ['slb'],
    rows: perBase((b) => [
      [`${b}.slb-w2a4`, intReferenceId(b, 2)],
      [`${b}.slb-w3a4`, intReferenceId(b, 3)],
      [`${b}.slb-w4a4`, intReferenceId(b, 4)],
    ]),
  },
  {
    name: 'dropbits',
    title: 'Semi-relaxed quantization with DropBits (`--method dropbits`, Lee et al. 2021)',
    what: md('weights-on-the-int-grid'),
    when: md('low-widths-with-a-soft'),
    memory:
      'One relaxed mask per weight and droppable bit per step (4 bytes × (wbits − minBits) per weight), a step per channel and a keep logit per layer and bit.',
    bench: ['dropbits'],
    rows: perBase((b) => [
      [`${b}.dropbits-w2a4`, intReferenceId(b, 2)],
      [`${b}.dropbits-w3a4`, intReferenceId(b, 3)],
      [`${b}.dropbits-w4a4`, intReferenceId(b, 4)],
      [`${b}.dropbits-learn-w4a4`, intReferenceId(b, 4)],
    ]),
  },
  {
    name: 'pq',
    title: 'Product quantization (`--method pq`, Stock et al. 2020, "And the Bit Goes Down")',
    what: md('each-conv-kernel-is-cut'),
    when: md('when-the-model-must-be'),
    memory: md('the-fp-model-as-a'),
    bench: ['pq'],
    rows: perBase((b) => [
      [`${b}.pq-small`, null],
      [`${b}.pq-large`, null],
    ]),
  },
  {
    name: 'esb',
    title: 'Elastic significant bits (`--method esb`, Gong et al.)',
    what: 'Weights in the esb format (k significant bits, an exponent field), with α = λ(b, k)·std(W) per channel set by the distribution difference aligner and refitted every step as the weights move.',
    when: 'Bell-shaped weight distributions at 3–4 bits: the levels are dense near zero and sparse in the tails.',
    memory: 'As ste.',
    bench: ['esb'],
    rows: perBase((b) => [
      [`${b}.fmt-esb-w4a4`, intReferenceId(b, 4)],
      [`${b}.fmt-esb-w3a4`, intReferenceId(b, 3)],
    ]),
  },
  {
    name: 'dybit',
    title: 'DyBit weights and activations (`--method ste --format dybit`)',
    what: 'The DyBit format (a unary region prefix and a mantissa; scale and kmax fitted per channel by MSE and refitted every 50 steps) retrained with ste; activations in int or in unsigned DyBit.',
    when: 'Heavy-tailed weights at 3–4 bits, and with the accelerator model in mind: its mantissa multiplier is narrower than an int multiplier of the same width.',
    memory: 'As ste.',
    bench: [],
    rows: perBase((b) => [
      [`${b}.fmt-dybit-w4a4`, intReferenceId(b, 4)],
      [`${b}.fmt-dybit-w3a4`, intReferenceId(b, 3)],
    ]),
  },
];

/** The logit memory the SLB runs reported, per model (both lenet5 bases report the same). */
function slbMemory(recs: Map<string, RunRecord>): string {
  const byModel = new Map<string, { weights: number; cells: Map<number, number> }>();
  for (const r of recs.values()) {
    const ms = r.methodSummary as SlbSummary | undefined;
    const run = experiments.find((e) => e.id === r.id);
    if (ms?.method !== 'slb' || run?.group !== 'quant') continue;
    const fp = experiments.find((e) => e.id === run.base);
    const name = fp?.group === 'fp' ? fp.config.model : run.base;
    const entry = byModel.get(name) ?? { weights: ms.layers.reduce((a, l) => a + l.weights, 0), cells: new Map() };
    entry.cells.set(Math.max(...ms.layers.map((l) => l.values)), ms.logitBytes);
    byModel.set(name, entry);
  }
  if (byModel.size === 0) return '';
  const parts = [...byModel].map(([model, { weights, cells }]) => {
    const sorted = [...cells].sort((a, b) => a[0] - b[0]);
    return `${model} (${(weights / 1e6).toFixed(2)} M low-bit weights) ${sorted.map(([, bytes]) => (bytes / 2 ** 20).toFixed(1)).join(' / ')} MiB at ${sorted.map(([j]) => j).join(' / ')} values`;
  });
  return ` Measured, as the runs reported it: ${parts.join('; ')}.`;
}

/** How fast the SLB choices hardened: the mean top probability at each epoch's end, per run. */
function slbHardening(recs: Map<string, RunRecord>): string[] {
  const HARD = 0.998;
  const runs = [...recs.values()].flatMap((r) => {
    if ((r.methodSummary as SlbSummary | undefined)?.method !== 'slb') return [];
    const per = r.history.map((h) => (h.method as unknown as { slbConfidence?: number; slbTemperature?: number } | undefined) ?? {});
    if (per.some((p) => p.slbConfidence === undefined || p.slbTemperature === undefined)) return [];
    return [{ id: r.id, confidence: per.map((p) => p.slbConfidence!), temperature: per.map((p) => p.slbTemperature!) }];
  });
  if (runs.length === 0) return [];
  const early = runs.flatMap((r) => {
    const at = r.confidence.findIndex((c) => c >= HARD);
    return at >= 0 && at + 1 <= r.confidence.length / 2 ? [`${r.id} (epoch ${at + 1} of ${r.confidence.length})`] : [];
  });
  // One temperature line when every run followed the same schedule, else each run's own.
  const temps = (r: (typeof runs)[number]) => r.temperature.map((t) => t.toFixed(1)).join(' / ');
  const shared = runs.every((r) => temps(r) === temps(runs[0]));
  return [
    '',
    md('how-fast-the-choices-hardened', {
      value: shared ? ` (temperature ${temps(runs[0])})` : '',
      value2: runs
        .map((r) => `${r.id} ${r.confidence.map((c) => c.toFixed(3)).join(' / ')}${shared ? '' : ` (temperature ${temps(r)})`}`)
        .join('; '),
    }),
    ...(early.length ? ['', md('where-the-mean-top-probability', { HARD, early: early.join(', ') })] : []),
  ];
}

function section(m: Method, recs: Map<string, RunRecord>, steps: StepRow[]): string[] {
  const lines = [
    `## ${m.title}`,
    '',
    `**What it does.** ${m.what}`,
    '',
    `**When to use it.** ${m.when}`,
    '',
    `**Memory.** ${m.memory}${m.measured ? m.measured(recs) : ''}`,
    '',
  ];
  const st = steps.filter((s) => m.bench.some((b) => s.method.startsWith(b)));
  if (st.length)
    lines.push(
      `**Step time** (bench/method-step.ts, against ${m.name === 'pq' ? 'a float training step' : 'plain QAT of the same grid'}): ${st.map((s) => `${s.model} ${s.method} ${s.ratio.toFixed(2)}×`).join('; ')}.`,
      '',
    );
  const rows = m.rows.filter(([id]) => recs.has(id));
  if (rows.length === 0) return [...lines, '**Here.** No runs recorded yet (see docs/RESULTS.md for the commands).', ''];
  lines.push(
    '**Here** (test accuracy; Δ against the baseline with the same budget):',
    '',
    '| run | accuracy | baseline | Δ (points) | epochs |',
    '|---|---|---|---|---|',
  );
  for (const [id, base] of rows) {
    const r = recs.get(id)!;
    const b = base ? recs.get(base) : undefined;
    lines.push(
      md('table-row', {
        id,
        testAccuracy: pct(r.final.testAccuracy),
        value: b
          ? `${pct(b.final.testAccuracy)} (${base})`
          : base
            ? `${base} not run yet`
            : `FP ${r.fpAccuracy === undefined ? '—' : pct(r.fpAccuracy)}`,
        value2: b
          ? points(100 * (r.final.testAccuracy - b.final.testAccuracy))
          : r.fpAccuracy !== undefined
            ? points(100 * (r.final.testAccuracy - r.fpAccuracy)) + ' vs FP'
            : '',
        historyLength: r.history.length,
      }),
    );
  }
  return [...lines, ...(m.after ? m.after(recs) : []), ''];
}

export async function renderMethods(): Promise<string> {
  const recs = readRecords(),
    steps = stepRatios();
  const figures = await writeMethodFigures(recs, path.join(root, 'docs'));
  return [
    '# Retraining methods',
    '',
    '<!-- Generated by `node dist/experiments/render-methods.js` from results/*.json. Do not edit by hand. -->',
    '',
    md('every-method-starts-from-a'),
    '',
    ...(figures.length ? ['## All runs at a glance', '', ...figures] : []),
    ...methods.flatMap((m) => section(m, recs, steps)),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('experiments', 'render-methods.js'))) {
  writeFileAtomic(path.join(root, 'docs', 'METHODS.md'), await renderMethods());
  console.log('wrote docs/METHODS.md and its figures');
}

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
    what: "Retrains with every weight and activation fake-quantized in the forward pass; the backward pass follows each format's declared straight-through rule (identity inside the range, zero outside). Works for every format (int, po2, esb, dybit, binary, ternary).",
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
    what: 'In every step a random share of the output channels (or single weights), drawn by roulette on their quantization error, stays in full precision; the share shrinks over four stages (ratios 0.5 → 0.75 → 0.875 → 1), each restarting the learning rate.',
    when: "Binary and ternary weights trained from scratch, the paper's setting, where quantizing everything at once hurts most. Starting from a trained FP checkpoint, as every run here does, try plain STE first: the table below holds SQ against it at the same budget, and RESULTS' ablations show what partition, selection, probability function and the learning-rate restarts change.",
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
    what: "QAT at a base width while tracking every weight's code; weights that keep switching between neighbouring levels get an extra bit (a finer grid) half-way through; a threshold-aware learning rate slows weights near decision thresholds. Bits per weight count the flags and their index.",
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
    what: "Each weight chooses among its layer's grid values through logits; training uses the softmax expectation with a temperature rising from 1 to 50, so the choice hardens, and the final weight is the most likely value. The logits learn by Adam through the softmax's Jacobian (native kernels).",
    when: 'Very low widths (2–3 bits), where rounding a float weight to the nearest level is a poor search.',
    memory:
      'J logits and two Adam moments per weight in float32, 12·J bytes per low-bit weight, where J is the number of grid values (3 at 2 bits, 7 at 3 bits, 15 at 4 bits on the symmetric int grid). It grows with the weights, not the batch.',
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
    what: 'Weights on the int grid with a learned step α per channel. The forward rounds each weight to the nearest grid point it keeps (one-hot); the backward is the multi-class straight-through estimator, the gradient of the expectation of the grid values under the probabilities π_j = σ((g_j + α/2 − w)/τ) − σ((g_j − α/2 − w)/τ), τ = α/3 — smooth near the decision thresholds, zero beyond the range. In every step each weight drops the grid points of the higher bit widths at random (a relaxed Bernoulli mask per bit, so the drop rates have gradients); with learned rates and a regularizer on the expected bits, each layer settles on the bits it keeps with probability ≥ ½ and is stored at that width.',
    when: 'Low widths with a soft gradient instead of the clipped identity, and when per-layer bit widths should come out of training rather than from a search (`--dropbits-lambda` trades bits for accuracy; `--no-dropbits-learn` keeps the width and uses the drops as a regularizer).',
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
    what: "Each conv kernel is cut into subvectors of one (or two) input channels × the 3×3 window (d = 9 or 18), each FC kernel into runs of 4 (or 8) inputs; a layer's subvectors share k = 256 centroids. The centroids are fitted by EM to keep the layer's outputs, not its weights: the error of a subvector is weighted by the second moment of the layer's in-domain input blocks (sampled from the network as compressed so far), assignments by that error, centroids as the means of their members, empty clusters split from the worst cluster. Layer by layer with distillation steps in between, then every centroid is fine-tuned by distillation from the FP model (a centroid moves by the mean gradient of its members).",
    when: 'When the model must be as small as possible and float activations are acceptable: at d = 9 a conv weight costs 8/9 bit of index plus its share of the codebook. It saves storage and DRAM traffic, not arithmetic: on a low-bit integer accelerator its layers compute on decoded fp16 weights and float activations and run slower than INT8 (docs/HARDWARE.md, the PQ rows).',
    memory:
      'The FP model as a teacher (one extra forward per step), the codebooks and one index per subvector. Packed as ⌈log2 k⌉-bit indices plus fp16 codebooks; the runtime decodes the kernels once and runs those layers in float; the ONNX export keeps the code (Gather of the codebook by the indices).',
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
    `How fast the choices hardened — mean probability of each weight's most likely value at the end of each epoch${shared ? ` (temperature ${temps(runs[0])})` : ''}: ${runs.map((r) => `${r.id} ${r.confidence.map((c) => c.toFixed(3)).join(' / ')}${shared ? '' : ` (temperature ${temps(r)})`}`).join('; ')}.`,
    ...(early.length
      ? [
          '',
          `Where the mean top probability passes ${HARD} within the first half of the budget — ${early.join(', ')} — the choices are close to one-hot for the rest of the budget, so the search had little time to move weights between values; a slower hardening (a lower \`--slb-t-end\` or \`--slb-lr\`) is the next thing to try there.`,
        ]
      : []),
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
      `| ${id} | ${pct(r.final.testAccuracy)} | ${b ? `${pct(b.final.testAccuracy)} (${base})` : base ? `${base} not run yet` : `FP ${r.fpAccuracy === undefined ? '—' : pct(r.fpAccuracy)}`} | ${b ? points(100 * (r.final.testAccuracy - b.final.testAccuracy)) : r.fpAccuracy !== undefined ? points(100 * (r.final.testAccuracy - r.fpAccuracy)) + ' vs FP' : ''} | ${r.history.length} |`,
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
    'Every method starts from a full-precision checkpoint (`lowbit quantize --from run/ --method <name> …`), keeps the first conv and the last FC at 8 bits, and leaves a checkpoint that `lowbit pack`, `lowbit run` and `lowbit export` take. The numbers below are from the experiment records behind docs/RESULTS.md.',
    '',
    ...(figures.length ? ['## All runs at a glance', '', ...figures] : []),
    ...methods.flatMap((m) => section(m, recs, steps)),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('experiments', 'render-methods.js'))) {
  writeFileAtomic(path.join(root, 'docs', 'METHODS.md'), await renderMethods());
  console.log('wrote docs/METHODS.md and its figures');
}

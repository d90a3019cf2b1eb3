// The deployment section of docs/RESULTS.md (issue 6): the integer runtime's throughput next to
// onnxruntime-node (results/bench-infer.json, bench/infer.ts) and the trained models packed and
// run on their test sets against the training simulation (results/bench-deploy.json, bench/deploy.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from './record.js';
import { pct, provenance } from './render-util.js';
import { prose } from './prose.js';
import { toDetails } from './verdicts.js';
import { renderBrowser } from './render-browser.js';

const md = prose('render-deploy');

interface Bench<Row> {
  command: string;
  rows: Row[];
  gitCommit: string;
  gitDirty: boolean;
  machine: RunRecord['machine'];
  finishedAt: string;
}

interface InferRow {
  model: string;
  batch: number;
  config: string;
  lowbit_ms: number;
  lowbit_images_per_s: number;
  ort_fp32_ms: number | null;
  ort_int8_ms: number | null;
  vs_ort_int8: number | null;
  packed_bytes: number;
  fp32_bytes: number;
}

interface DeployRow {
  run: string;
  data: string;
  images: number;
  packed_bytes: number;
  bits_per_weight: number;
  vs_fp32: number;
  runtime_accuracy: number;
  simulation_accuracy: number;
  top1_agreement: number;
  within_one_step: number;
  max_steps: number;
  images_per_s: number;
}

function read<Row>(file: string): Bench<Row> | null {
  const f = path.join(process.cwd(), 'results', file);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Bench<Row>) : null;
}

const ms = (v: number | null) => (v === null ? '—' : v.toFixed(1));
/** lowbit's speed against ORT FP32 in the same run (its time over lowbit's). */
const vsFp32 = (r: InferRow | undefined) => (r?.ort_fp32_ms == null ? '—' : `${(r.ort_fp32_ms / r.lowbit_ms).toFixed(2)}×`);

export function renderDeploy(): string[] {
  const lines = ['', '## Packed models and the integer runtime (issue 6)', ''];
  const infer = read<InferRow>('bench-infer.json');
  lines.push('### Throughput next to onnxruntime-node', '');
  if (!infer) lines.push('Not measured yet: `node dist/bench/infer.js --record results/bench-infer.json`.', '');
  else {
    // The table goes to the appendix; RESULTS keeps what the targets name.
    const table: string[] = [
      `\`${infer.command}\` on ${provenance(infer)}. Random weights (speed does not depend on accuracy), int weights per`,
      'channel, first conv and last FC at 8 bits, batch norm folded. ORT runs the FP32 model and the W8A8 model exported as',
      'QDQ (fused into QLinearConv / QLinearMatMul) in the same process; targets: W4A4 ≥ 1× ORT INT8, W8A8 ≥ 0.8×.',
      '',
      '| model | batch | lowbit | ms / batch | images/s | ORT FP32 ms | ORT INT8 ms | vs ORT FP32 | vs ORT INT8 | packed size |',
      '|---|---|---|---|---|---|---|---|---|---|',
    ];
    for (const r of infer.rows)
      table.push(
        md('table-row', {
          model: r.model,
          batch: r.batch,
          config: r.config,
          lowbit_ms: r.lowbit_ms.toFixed(1),
          lowbit_images_per_s: r.lowbit_images_per_s,
          ort_fp32_ms: ms(r.ort_fp32_ms),
          ort_int8_ms: ms(r.ort_int8_ms),
          vsFp32: vsFp32(r),
          value: r.vs_ort_int8 === null ? '—' : `${r.vs_ort_int8.toFixed(2)}×`,
          packed_bytes: (r.packed_bytes / 1024).toFixed(0),
          packed_bytes2: (r.fp32_bytes / r.packed_bytes).toFixed(1),
        }),
      );
    const row = (model: string, config: string) => infer.rows.find((x) => x.model === model && x.config === config);
    const vs = (model: string, config: string) => {
      const r = row(model, config);
      return r?.vs_ort_int8 == null ? '—' : `${r.vs_ort_int8.toFixed(2)}×`;
    };
    lines.push(
      md('infer-summary', {
        command: infer.command,
        machine: provenance(infer),
        vggW4: vs('vgg9', 'W4A4'),
        vggW8: vs('vgg9', 'W8A8'),
        lenetW4: vs('lenet5', 'W4A4'),
        lenetW8: vs('lenet5', 'W8A8'),
        vggF: vsFp32(row('vgg9', 'W4A4')),
        lenetF: vsFp32(row('lenet5', 'W4A4')),
      }),
      ...toDetails('Node throughput table', table),
      '',
    );
  }
  lines.push(...renderBrowser());
  lines.push(...deployTable('### Trained models through pack → load → run', 'bench-deploy.json', 'node dist/bench/deploy.js'));
  lines.push(
    ...deployTable(
      '### The seed and related methods through pack → load → run (issues 4 and 9)',
      'bench-deploy-methods.json',
      'node dist/bench/deploy.js --set methods',
      md('each-method-s-trained-checkpoint'),
    ),
  );
  return lines;
}

/** A deploy benchmark: a summary in RESULTS, its table of runs in the appendix. */
function deployTable(heading: string, file: string, command: string, intro?: string): string[] {
  const lines: string[] = [];
  const summary: string[] = [];
  const dep = read<DeployRow>(file);
  if (!dep) return [heading, '', `Not measured yet: \`${command} --record results/${file}\`.`, ''];
  {
    if (intro) lines.push(intro, '');
    lines.push(
      `\`${dep.command}\` on ${provenance(dep)}. Each experiment's quantized checkpoint is packed, loaded and run on its whole`,
      'test set by the integer runtime, and compared image by image with the training simulation (the same model in tfjs with',
      'float fake quantization). A logit step is that of an 8-bit output grid over the logits (max |logit| / 127); the target is',
      "the same top-1 on ≥ 99.9% of images and logits within one step. (Throughput is bench-infer's job: this run shares the",
      'machine with trainings.)',
      '',
      '| run | packed | bits / weight | < FP32 | runtime accuracy | simulation | same top-1 | within one step | max Δ (steps) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of dep.rows)
      lines.push(
        md('table-row-2', {
          run: r.run,
          packed_bytes: (r.packed_bytes / 1024).toFixed(1),
          bits_per_weight: r.bits_per_weight.toFixed(2),
          vs_fp32: r.vs_fp32.toFixed(1),
          runtime_accuracy: pct(r.runtime_accuracy),
          simulation_accuracy: pct(r.simulation_accuracy),
          top1_agreement: pct(r.top1_agreement),
          value: r.top1_agreement >= 0.999 ? ' ✓' : ' ✗',
          within_one_step: pct(r.within_one_step),
          max_steps: r.max_steps.toFixed(2),
        }),
      );
    const short = dep.rows.filter((r) => r.within_one_step < 1);
    const agree = dep.rows.filter((r) => r.top1_agreement >= 0.999).length;
    summary.push(
      md('deploy-summary', {
        runs: dep.rows.length,
        agree,
        oneStep: dep.rows.length - short.length,
        worst: Math.max(...dep.rows.map((r) => r.max_steps)).toFixed(2),
      }),
    );
    if (short.length)
      lines.push(
        '',
        md('where-logits-leave-the-one', {
          value: short.map((r) => `${r.run}: ${pct(r.within_one_step)} of images, at most ${r.max_steps.toFixed(2)} steps`).join('; '),
        }),
      );
    lines.push('');
  }
  return [heading, '', ...summary, ...toDetails(heading.replace(/^#+ /, ''), lines), ''];
}

// The browser section of docs/RESULTS.md (issue 21): lowbit's WebAssembly runtime next to
// onnxruntime-web and tfjs-backend-wasm in Chromium, at one and two threads, with the download size
// of each runtime (results/bench-browser.json, bench/browser.ts). The table of every model,
// configuration and thread count goes to the appendix; RESULTS holds the W4A4 rows the targets name.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from './record.js';
import { provenance } from './render-util.js';
import { prose } from './prose.js';
import { toDetails } from './verdicts.js';

const md = prose('render-browser');

interface BrowserRow {
  model: string;
  config: string;
  batch: number;
  threads: number;
  lowbit_threads: number;
  kernels: string;
  lowbit_ms: number;
  ort_ms: number;
  tfjs_ms: number;
  vs_ort: number;
  vs_tfjs: number;
  top1_vs_ort: number;
  browser?: string;
  cpu_flags?: string;
  lowbit_gz_kb: number;
  ort_wasm_gz_kb: number;
  tfjs_wasm_gz_kb: number;
}

interface Bench {
  command: string;
  rows: BrowserRow[];
  gitCommit: string;
  gitDirty: boolean;
  machine: RunRecord['machine'];
  finishedAt: string;
}

const FILE = 'bench-browser.json';

const ratio = (v: number) => `${v.toFixed(2)}×`;

function row(r: BrowserRow): string {
  return md('row', {
    model: r.model,
    config: r.config,
    batch: r.batch,
    threads: r.threads,
    kernels: r.kernels,
    lowbit: r.lowbit_ms.toFixed(1),
    ort: r.ort_ms.toFixed(1),
    tfjs: r.tfjs_ms.toFixed(1),
    vsOrt: ratio(r.vs_ort),
    vsTfjs: ratio(r.vs_tfjs),
    top1: `${(100 * r.top1_vs_ort).toFixed(1)}%`,
  });
}

export function renderBrowser(): string[] {
  const lines = ['### In the browser (issue 21)', ''];
  const f = path.join(process.cwd(), 'results', FILE);
  if (!existsSync(f)) return [...lines, md('not-measured', { file: FILE }), ''];
  const b = JSON.parse(readFileSync(f, 'utf8')) as Bench;
  const first = b.rows[0];
  // Records from before machine.cpuFlags kept the flags in their rows.
  const machine = { ...b.machine, cpuFlags: b.machine.cpuFlags || first.cpu_flags || 'CPU flags not recorded' };
  const head = md('head', {
    command: b.command,
    browser: first.browser ?? 'Chromium',
    machine: provenance({ ...b, machine }),
    lowbit: first.lowbit_gz_kb.toFixed(1),
    ort: (first.ort_wasm_gz_kb / 1024).toFixed(2),
    tfjs: first.tfjs_wasm_gz_kb.toFixed(0),
  });
  const w4 = b.rows.filter((r) => r.config === 'W4A4');
  const at = (model: string, threads: number) => w4.find((r) => r.model === model && r.threads === threads);
  const target = (model: string, threads: number, need: number) => {
    const r = at(model, threads);
    return r ? `${r.lowbit_ms.toFixed(1)} ms vs ${r.ort_ms.toFixed(1)} ms, ${ratio(r.vs_ort)} ${r.vs_ort >= need ? '✓' : '✗'}` : '—';
  };
  lines.push(
    head,
    '',
    md('targets', {
      lenet1: target('lenet5', 1, 2),
      vgg1: target('vgg9', 1, 2),
      lenet2: target('lenet5', 2, 1.5),
      vgg2: target('vgg9', 2, 1.5),
    }),
  );
  lines.push(...toDetails('Browser benchmark table', [head, '', md('method'), '', md('table-head'), ...b.rows.map(row)]));
  lines.push('');
  return lines;
}

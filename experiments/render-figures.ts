// The figure of docs/METHODS.md: every retraining run of a base network, test accuracy against
// the stored bits per weight of its low-bit layers, rendered from the records to an SVG file
// with the report's Vega-Lite pipeline.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.js';
import { storageBits } from '../src/hw/from-model.js';
import type { FormatSpec } from '../src/quant/registry.js';
import { renderSvg } from '../src/report/html.js';
import { experiments, type QuantExperiment } from './registry.js';
import type { RunRecord } from './record.js';
import { prose } from './prose.js';

const md = prose('render-figures');

export interface MethodPoint {
  run: string;
  method: string;
  bits: number;
  accuracy: number;
}

/**
 * Stored bits per weight of the low-bit layers (the 8-bit ends are the same in every run): the
 * method's own figure where it has one (MPQ flags, DropBits' settled widths, PQ indices and
 * codebooks), else the formats' declared storage of the middle layers.
 */
export function lowBitBits(r: RunRecord): number | null {
  const own = (r.methodSummary as { bitsPerWeight?: unknown } | undefined)?.bitsPerWeight;
  if (typeof own === 'number') return own;
  const plan = (r.plan ?? []) as { weight: FormatSpec | null }[];
  const mid = r.config.keepEnds !== false && plan.length > 2 ? plan.slice(1, -1) : plan;
  const bits = mid.filter((p) => p.weight).map((p) => storageBits(p.weight!, null));
  return bits.length ? bits.reduce((a, b) => a + b, 0) / bits.length : null;
}

function methodLabel(e: QuantExperiment): string {
  const o = e.options as { method: string; format?: string; dropbits?: { learnRates?: boolean } };
  if (o.method === 'dropbits') return o.dropbits?.learnRates === false ? 'dropbits' : 'dropbits (learned widths)';
  if (['ste', 'sq', 'ptq', 'lsq'].includes(o.method)) return `${o.method} ${o.format ?? 'int'}`;
  return o.method;
}

/** The points of one base network: its FP checkpoint at 32 bits and every quantization run with a record. */
export function methodPoints(records: Map<string, RunRecord>, base: string): MethodPoint[] {
  const out: MethodPoint[] = [];
  const fp = records.get(base);
  if (fp) out.push({ run: base, method: 'FP32', bits: 32, accuracy: 100 * fp.final.testAccuracy });
  for (const e of experiments.filter((x): x is QuantExperiment => x.group === 'quant' && x.base === base)) {
    const r = records.get(e.id);
    const bits = r ? lowBitBits(r) : null;
    if (r && bits !== null) out.push({ run: e.id, method: methodLabel(e), bits, accuracy: 100 * r.final.testAccuracy });
  }
  return out;
}

/** Writes docs/images/methods-<base>.svg for every base with quantization runs; returns the markdown that shows them. */
export async function writeMethodFigures(records: Map<string, RunRecord>, docsDir: string): Promise<string[]> {
  const bases = [...new Set(experiments.filter((e): e is QuantExperiment => e.group === 'quant').map((e) => e.base))];
  const lines: string[] = [];
  for (const base of bases) {
    const values = methodPoints(records, base);
    if (values.length < 2) continue;
    const svg = await renderSvg({
      id: `methods-${base}`,
      title: base,
      caption: '',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        config: { font: 'sans-serif', view: { stroke: null }, legend: { labelLimit: 360 } },
        title: `${base}: test accuracy against stored bits per weight`,
        data: { values },
        width: 560,
        height: 320,
        mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
        encoding: {
          x: {
            field: 'bits',
            type: 'quantitative',
            scale: { type: 'log', base: 2 },
            title: 'bits per weight of the low-bit layers (log scale)',
          },
          y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
          color: { field: 'method', type: 'nominal', title: 'method', scale: { scheme: 'tableau20' } },
          shape: { field: 'method', type: 'nominal' },
        },
      },
    });
    const file = path.join(docsDir, 'images', `methods-${base}.svg`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, svg);
    lines.push(
      `![${base}: test accuracy against stored bits per weight, one point per run](images/methods-${base}.svg)`,
      '',
      md('runs-with-records-and-the', { base, valuesLength: values.length - 1 }),
      '',
    );
  }
  return lines;
}

// The report's figures as Vega-Lite specifications (rendered to SVG by html.ts). One function
// per figure; each returns null when the runs given hold nothing for it.
import type { RunData, SearchData } from './collect.js';

export type Spec = Record<string, unknown>;

export interface Figure {
  id: string;
  title: string;
  caption: string;
  spec: Spec;
}

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  config: { font: 'sans-serif', view: { stroke: null }, legend: { labelLimit: 360 } },
};
// Run names as a header above each row of a faceted figure (long names do not fit sideways).
const rowHeader = { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontWeight: 'bold', labelLimit: 600 };
const pct = (x: number | null) => (x === null ? null : Number((100 * x).toFixed(2)));

/** A figure over `values`, or null when there is nothing to draw. */
function figure(values: unknown[], f: Figure): Figure | null {
  return values.length === 0 ? null : { ...f, spec: { ...base, data: { values }, ...f.spec } };
}

export function accuracyVsBits(runs: RunData[]): Figure | null {
  const values = runs
    .filter((r) => r.accuracy !== null)
    .map((r) => ({ run: r.name, method: r.method, bits: r.bitsPerWeight, accuracy: pct(r.accuracy) }));
  return figure(values, {
    id: 'accuracy-vs-bits',
    title: 'Accuracy against bits per weight',
    caption: 'Test accuracy of every run against its packed bits per weight (flags, indices and 8-bit ends included; FP32 at 32).',
    spec: {
      width: 520,
      height: 300,
      layer: [
        {
          mark: { type: 'point', filled: true, size: 90 },
          encoding: {
            x: { field: 'bits', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'bits per weight (log scale)' },
            y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
            color: { field: 'method', type: 'nominal', title: 'method' },
            tooltip: [{ field: 'run' }, { field: 'method' }, { field: 'bits', format: '.3f' }, { field: 'accuracy', format: '.2f' }],
          },
        },
        {
          mark: { type: 'text', dy: -10, fontSize: 10 },
          encoding: { x: { field: 'bits', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' }, text: { field: 'run' } },
        },
      ],
    },
  });
}

export function paretoFront(searches: SearchData[]): Figure | null {
  const values = searches.flatMap((s) =>
    s.points.map((p) => ({
      search: s.name,
      kind: p.kind,
      budget: p.budget,
      accuracy: pct(p.accuracy),
      latencyUs: Number((p.latencyMs * 1000).toFixed(3)),
      speedupVsFp32: Number(p.speedupVsFp32.toFixed(2)),
      speedupVsInt8: Number(p.speedupVsInt8.toFixed(2)),
    })),
  );
  return figure(values, {
    id: 'pareto-front',
    title: 'Searched configurations against the baselines',
    caption:
      'Each point retrained with QAT and simulated on the accelerator: accuracy against latency; the searched points form the front.',
    spec: {
      width: 520,
      height: 300,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'searched'" }],
          mark: { type: 'line', strokeDash: [4, 3], color: '#888' },
          encoding: {
            x: { field: 'latencyUs', type: 'quantitative' },
            y: { field: 'accuracy', type: 'quantitative' },
            detail: { field: 'search' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 100 },
          encoding: {
            x: { field: 'latencyUs', type: 'quantitative', title: 'latency per image (µs)', scale: { zero: false } },
            y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
            color: { field: 'kind', type: 'nominal', title: 'configuration' },
            shape: { field: 'search', type: 'nominal', title: 'search' },
            tooltip: [
              { field: 'kind' },
              { field: 'budget' },
              { field: 'accuracy' },
              { field: 'latencyUs' },
              { field: 'speedupVsFp32' },
              { field: 'speedupVsInt8' },
            ],
          },
        },
      ],
    },
  });
}

export function bitAllocation(runs: RunData[]): Figure | null {
  const values = runs
    .filter((r) => r.quantized)
    .flatMap((r) =>
      r.layers.flatMap((l, i) => [
        { run: r.name, layer: l.layer, order: i, operand: 'weights', bits: l.weightBits, format: l.weightFormat },
        ...(l.activationBits === null
          ? []
          : [{ run: r.name, layer: l.layer, order: i, operand: 'activations', bits: l.activationBits, format: 'input' }]),
      ]),
    );
  return figure(values, {
    id: 'bit-allocation',
    title: 'Bits per layer',
    caption: 'Weight and input-activation bit widths of every quantized layer (weights labelled with their format).',
    spec: {
      facet: { row: { field: 'run', type: 'nominal', title: null, header: rowHeader } },
      spec: {
        width: 520,
        height: 120,
        layer: [
          {
            mark: 'bar',
            encoding: {
              x: { field: 'layer', type: 'nominal', sort: { field: 'order' }, title: null },
              xOffset: { field: 'operand' },
              y: { field: 'bits', type: 'quantitative', title: 'bits' },
              color: { field: 'operand', type: 'nominal', title: null },
              tooltip: [{ field: 'layer' }, { field: 'operand' }, { field: 'bits' }, { field: 'format' }],
            },
          },
        ],
      },
    },
  });
}

export function weightHistograms(run: RunData): Figure | null {
  const values = run.histograms.flatMap((h) => [
    ...h.bins.map((b) => ({ layer: `${h.layer} (${h.format})`, x: Number(b.x.toFixed(3)), count: b.count, kind: 'weights' })),
    // Rules for every level only while they stay readable (not the 255 of an 8-bit layer).
    ...(h.levels.length <= 33 ? h.levels : []).map((l) => ({ layer: `${h.layer} (${h.format})`, x: l, count: null, kind: 'level' })),
  ]);
  return figure(values, {
    id: `histograms-${run.name}`,
    title: `Weights and format levels: ${run.name}`,
    caption:
      "Weights per layer in units of their channel's grid step (so every channel shares one axis), with the format's levels as red rules (up to 33 levels).",
    spec: {
      facet: { field: 'layer', type: 'nominal', title: null },
      columns: 3,
      resolve: { scale: { x: 'independent', y: 'independent' } },
      spec: {
        width: 200,
        height: 110,
        layer: [
          {
            transform: [{ filter: "datum.kind === 'weights'" }],
            mark: { type: 'bar', color: '#4c78a8' },
            encoding: {
              x: { field: 'x', type: 'quantitative', title: 'weight / step' },
              y: { field: 'count', type: 'quantitative', title: 'weights' },
            },
          },
          {
            transform: [{ filter: "datum.kind === 'level'" }],
            mark: { type: 'rule', color: '#e45756', opacity: 0.8 },
            encoding: { x: { field: 'x', type: 'quantitative' } },
          },
        ],
      },
    },
  });
}

export function costBreakdown(runs: RunData[]): Figure | null {
  // A report of searches only has no run to cost layer by layer.
  if (runs.length === 0) return null;
  const values = runs.flatMap((r) =>
    r.costs.flatMap((c, i) => c.energy.map((e) => ({ run: r.name, layer: c.layer, order: i, part: e.part, uj: e.uj }))),
  );
  return figure(values, {
    id: 'energy-per-layer',
    title: `Energy per layer on ${runs[0].accelerator}`,
    caption: 'Energy per image and layer from the accelerator model, split into MAC array, on-chip SRAM, DRAM and format decoders.',
    spec: {
      facet: { row: { field: 'run', type: 'nominal', title: null, header: rowHeader } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 520,
        height: 120,
        mark: 'bar',
        encoding: {
          x: { field: 'layer', type: 'nominal', sort: { field: 'order' }, title: null },
          y: { field: 'uj', type: 'quantitative', aggregate: 'sum', title: 'energy (µJ)' },
          color: { field: 'part', type: 'nominal', title: null },
          tooltip: [{ field: 'layer' }, { field: 'part' }, { field: 'uj', aggregate: 'sum', format: '.4f' }],
        },
      },
    },
  });
}

export function latencyBreakdown(runs: RunData[]): Figure | null {
  if (runs.length === 0) return null;
  const values = runs.flatMap((r) =>
    r.costs.map((c, i) => ({ run: r.name, layer: c.layer, order: i, us: Number(c.latencyUs.toFixed(4)) })),
  );
  return figure(values, {
    id: 'latency-per-layer',
    title: `Latency per layer on ${runs[0].accelerator}`,
    caption: 'Latency per image and layer (the slower of compute and memory traffic), for every run side by side.',
    spec: {
      width: 520,
      height: 260,
      mark: 'bar',
      encoding: {
        x: { field: 'layer', type: 'nominal', sort: { field: 'order' }, title: null },
        xOffset: { field: 'run' },
        y: { field: 'us', type: 'quantitative', title: 'latency (µs)' },
        color: { field: 'run', type: 'nominal', title: null },
        tooltip: [{ field: 'run' }, { field: 'layer' }, { field: 'us' }],
      },
    },
  });
}

export function trainingCurves(runs: RunData[]): Figure | null {
  const values = runs.flatMap((r) =>
    r.curve.map((c) => ({ run: r.name, epoch: c.epoch, accuracy: pct(c.testAccuracy), loss: c.trainLoss })),
  );
  return figure(values, {
    id: 'training-curves',
    title: 'Training curves',
    caption: 'Test accuracy and training loss per epoch of every run that trained.',
    spec: {
      hconcat: [
        {
          width: 300,
          height: 220,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
            y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
            color: { field: 'run', type: 'nominal' },
          },
        },
        {
          width: 300,
          height: 220,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
            y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'training loss (log)' },
            color: { field: 'run', type: 'nominal' },
          },
        },
      ],
    },
  });
}

// Renders docs/HARDWARE.md: the accelerator model, its presets and energy tables with their
// sources, and what lenet5 / vgg9 / resnet20 cost at FP32, INT8, W4A4, W2A2, MPQ, DyBit and PQ on
// every preset. MPQ layers use the flagged shares and stored bits of the MPQ experiment records
// in results/ (when run); PQ layers the block size and centroid count of the PQ records.
// Usage: node dist/experiments/render-hardware.js
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildModel } from '../src/models/zoo.js';
import { quantizeModel, type QuantizeConfig } from '../src/nn/quantize-model.js';
import { energyTable, loadAccelerator, presetNames } from '../src/hw/config.js';
import { describeModel, type HwLayer } from '../src/hw/from-model.js';
import type { KernelCode } from '../src/quant/kernel-code.js';
import { simulateWithBaselines, type SimulationReport } from '../src/hw/simulate.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { gitState } from './record.js';
import type { InputShape } from '../src/models/common.js';
import { prose } from './prose.js';

const md = prose('render-hardware');

const root = process.cwd();

/** Each model with the experiment whose MPQ flags its MPQ rows use ({bits}: the base bits). */
const models: { name: string; shape: InputShape; data: string; mpqRecord: string; pqRecord: string }[] = [
  {
    name: 'lenet5',
    shape: [28, 28, 1],
    data: 'MNIST shape',
    mpqRecord: 'fp-mnist-lenet5.mpq-w{bits}a4',
    pqRecord: 'fp-mnist-lenet5.pq-{size}',
  },
  {
    name: 'vgg9',
    shape: [32, 32, 3],
    data: 'CIFAR-10 shape',
    mpqRecord: 'fp-fashion-vgg9.mpq-w{bits}a4',
    pqRecord: 'fp-fashion-vgg9.pq-{size}',
  },
  { name: 'resnet20', shape: [32, 32, 3], data: 'CIFAR-10 shape', mpqRecord: '', pqRecord: '' },
];

const int = (bits: number) => ({ format: 'int', bits, granularity: 'channel' });
const uint = (bits: number) => ({ format: 'int', bits, signed: false });
const configs: { label: string; config: QuantizeConfig | null; pq?: 'small' | 'large' }[] = [
  { label: 'FP32', config: null },
  { label: 'INT8', config: { weight: int(8), activation: uint(8) } },
  { label: 'W4A4', config: { weight: int(4), activation: uint(4) } },
  { label: 'W3A4', config: { weight: int(3), activation: uint(4) } },
  { label: 'W2A2', config: { weight: int(2), activation: uint(2) } },
  { label: 'MPQ W3A4', config: { weight: { format: 'mpq', bits: 3, granularity: 'channel' }, activation: uint(4) } },
  { label: 'MPQ W2A4', config: { weight: { format: 'mpq', bits: 2, granularity: 'channel' }, activation: uint(4) } },
  {
    label: 'DyBit W4A4',
    config: { weight: { format: 'dybit', bits: 4, granularity: 'channel' }, activation: { format: 'dybit', bits: 4, signed: false } },
  },
  { label: 'DyBit W3A4', config: { weight: { format: 'dybit', bits: 3, granularity: 'channel' }, activation: uint(4) } },
  // Product codes with float activations, as --method pq trains them (8-bit ends, float kernels).
  ...(['small', 'large'] as const).map((pq) => ({
    label: `PQ ${pq} (float A)`,
    config: { weight: null, activation: null, keepEndsAt8Bits: true },
    pq,
  })),
];

interface MpqLayer {
  name: string;
  weights: number;
  flagged: number;
  bitsPerWeight: number;
}

/** Per-layer flags of an MPQ experiment record, if it has been run. */
function mpqLayers(id: string): { layers: Map<string, MpqLayer>; source: string } | null {
  const f = path.join(root, 'results', `${id}.json`);
  if (!id || !existsSync(f)) return null;
  const r = JSON.parse(readFileSync(f, 'utf8')) as { methodSummary?: { perLayer?: MpqLayer[] } };
  const per = r.methodSummary?.perLayer;
  return per ? { layers: new Map(per.map((l) => [l.name, l])), source: `results/${id}.json` } : null;
}

interface PqLayer {
  name: string;
  d: number;
  k: number;
}

/** Per-layer block size and centroid count of a PQ experiment record, if it has been run. */
function pqLayers(id: string): Map<string, PqLayer> | null {
  const f = path.join(root, 'results', `${id}.json`);
  if (!id || !existsSync(f)) return null;
  const r = JSON.parse(readFileSync(f, 'utf8')) as { methodSummary?: { perLayer?: PqLayer[] } };
  const per = r.methodSummary?.perLayer;
  return per ? new Map(per.map((l) => [l.name, l])) : null;
}

/**
 * The product codes of a PQ record's layers on this model's shapes: the record gives d and k per
 * layer; the count of subvectors (and so the codebook's share per weight) is the layer's own. The
 * cost reads only the sizes, so the centroids and indices are left at zero.
 */
function pqCodes(model: ReturnType<typeof buildModel>, pq: Map<string, PqLayer>): Map<string, KernelCode> {
  const out = new Map<string, KernelCode>();
  for (const layer of model.layers) {
    const l = pq.get(layer.name);
    if (!l || layer.weights.length === 0) continue;
    const weights = layer.weights[0].shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const code = { m: 1, d: l.d, centroids: new Float32Array(l.k * l.d), assign: new Uint32Array(weights / l.d) };
    out.set(layer.name, { codec: 'product', code });
  }
  return out;
}

async function layersFor(
  name: string,
  shape: InputShape,
  c: (typeof configs)[number],
  mpqRecord: string,
  pqRecord: string,
): Promise<HwLayer[] | null> {
  const config = c.config;
  const fp = buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
  if (!config) return describeModel(fp);
  const { model } = await quantizeModel(fp, config);
  if (c.pq) {
    const pq = pqLayers(pqRecord.replace('{size}', c.pq));
    return pq ? describeModel(model, 1, pqCodes(model, pq)) : null;
  }
  const record = mpqRecord;
  const layers = describeModel(model);
  const w = config.weight as { format: string; bits: number };
  if (w.format !== 'mpq') return layers;
  const mpq = mpqLayers(record.replace('{bits}', String(w.bits)));
  return layers.map((l) => {
    const m = mpq?.layers.get(l.shape.name);
    return m ? { ...l, precision: { ...l.precision, flaggedShare: m.flagged / m.weights, weightStorageBits: m.bitsPerWeight } } : l;
  });
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => (x < 0.01 ? x.toExponential(2) : x.toFixed(3));

async function main(): Promise<void> {
  const accels = presetNames.map(loadAccelerator);
  const lines: string[] = [
    '# The accelerator model',
    '',
    '<!-- Generated by `node dist/experiments/render-hardware.js` (experiments/render-hardware.ts). Do not edit by hand. -->',
    '',
    md('lowbit-simulate-model-q-accel'),
    '',
    '## The model (SPEC.md §5)',
    '',
    md('what-a-layer-needs-every'),
    md('bit-brick-composition-operand-widths'),
    md('mapping-and-utilisation-the-reduction'),
    md('tiling-and-dram-each-layer'),
    md('sram-traffic-a-weight-stationary'),
    md('energy-compute-per-mac-the'),
    '- **Latency** = Σ over layers of max(compute cycles, DRAM bytes / bandwidth per cycle): each layer is bound by compute or by memory, with double buffering hiding the other.',
    md('baselines-int8-the-same-network'),
    md('left-out-leakage-and-clock'),
    '',
    '## Presets',
    '',
    '| preset | arithmetic | array | bricks/PE (bits) | precisions | clock | SRAM W/A/O (KB) | DRAM | energy table |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const a of accels)
    lines.push(
      md('table-row', {
        aName: a.name,
        arithmetic: a.arithmetic,
        rows: a.array.rows,
        cols: a.array.cols,
        bricksPerPe: a.bricksPerPe,
        brickBits: a.brickBits,
        precisions: a.precisions.join(', '),
        clockMHz: a.clockMHz,
        weights: a.sramKB.weights,
        activations: a.sramKB.activations,
        outputs: a.sramKB.outputs,
        dramGBps: a.dramGBps,
        energyTable: a.energyTable,
      }),
    );
  lines.push('', 'Sources, as stated in the preset files (`src/hw/presets/*.json`):', '');
  for (const a of accels) {
    lines.push(`- **${a.name}**: ${a.description}.`);
    for (const [k, v] of Object.entries(a.sources)) lines.push(`  - ${k}: ${v}`);
  }
  lines.push('', '## Energy tables', '');
  for (const name of [...new Set(accels.map((a) => a.energyTable))]) {
    const t = energyTable(name);
    lines.push(
      md('nm-int-b-b-multiply', {
        tName: t.name,
        technologyNm: t.technologyNm,
        a: t.intMult.a.toPrecision(4),
        b: t.intMult.b.toPrecision(4),
        perBit: t.intAdd.perBit.toPrecision(4),
        pj: t.fp32Mult.pj.toPrecision(4),
        pj2: t.fp32Add.pj.toPrecision(4),
        value: t.sram.points.map((p) => `${p.pjPer64Bits.toPrecision(4)} pJ/64 b at ${p.kb} KB`).join(', '),
        pjPerBit: t.dram.pjPerBit,
        source: t.source,
      }),
    );
  }

  lines.push('', '## Networks on every preset', '');
  const notes: string[] = [];
  const reports = new Map<string, SimulationReport>();
  for (const m of models) {
    for (const bits of [3, 2]) {
      const mpq = mpqLayers(m.mpqRecord.replace('{bits}', String(bits)));
      notes.push(
        mpq
          ? `${m.name} MPQ W${bits}A4: flagged shares and stored bits per layer from ${mpq.source}`
          : `${m.name} MPQ W${bits}A4: no MPQ run recorded for this model, so no flagged weights (base ${bits} bits only)`,
      );
    }
    for (const size of ['small', 'large']) {
      const id = m.pqRecord.replace('{size}', size);
      if (pqLayers(id)) notes.push(md('pq-block-size-and-centroids', { mName: m.name, size, id }));
    }
    lines.push(
      `### ${m.name} (${m.data} ${m.shape.join('×')}, batch 1)`,
      '',
      md('latency-and-energy-per-inference'),
      '',
      '| configuration | preset | latency (ms) | energy (µJ) | weights (KB) | speedup vs INT8 | energy vs INT8 | speedup vs FP32 | energy vs FP32 |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const c of configs) {
      const layers = await layersFor(m.name, m.shape, c, m.mpqRecord, m.pqRecord);
      if (!layers) continue; // a PQ row without its record
      for (const a of accels) {
        if (a.arithmetic === 'fp32' && c.config) continue;
        if (a.arithmetic !== 'fp32' && !c.config) continue;
        const r = simulateWithBaselines(layers, a);
        reports.set(`${m.name}/${c.label}/${a.name}`, r);
        const t = r.totals;
        lines.push(
          md('table-row-2', {
            label: c.label,
            aName: a.name,
            latencyMs: f3(t.latencyMs),
            energyUj: f2(t.energyUj),
            weightBytes: f2(t.weightBytes / 1024),
            speedupVsInt8: f2(r.speedupVsInt8),
            energyRatioVsInt8: f2(r.energyRatioVsInt8),
            speedupVsFp32: f2(r.speedupVsFp32),
            energyRatioVsFp32: f2(r.energyRatioVsFp32),
          }),
        );
      }
    }
    lines.push('');
  }
  lines.push(...notes.map((n) => `- ${n}`), '');

  // Target 1: VGG-9 W4A4 versus INT8 on the Bit Fusion preset, layer by layer.
  const w4 = reports.get('vgg9/W4A4/bitfusion')!;
  const i8 = w4.baselines.int8;
  lines.push(
    '## VGG-9 at W4A4 against INT8 on the Bit Fusion preset, layer by layer',
    '',
    md('bit-fusion-composes-a-4', {
      speedupVsInt8: f2(w4.speedupVsInt8),
      value: w4.speedupVsInt8 >= 2 && w4.speedupVsInt8 <= 4 ? 'met ✓' : 'not met ✗',
      energyRatioVsInt8: f2(w4.energyRatioVsInt8),
    }),
    '',
    '| layer | MACs | INT8 cycles (bound) | W4A4 cycles (bound) | speedup | INT8 DRAM KB | W4A4 DRAM KB | INT8 energy µJ | W4A4 energy µJ |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  w4.layers.forEach((l, i) => {
    const b = i8.layers[i];
    lines.push(
      md('table-row-3', {
        lName: l.name,
        macs: l.macs.toLocaleString('en-US'),
        cycles: Math.round(b.cycles).toLocaleString('en-US'),
        bound: b.bound,
        cycles2: Math.round(l.cycles).toLocaleString('en-US'),
        bound2: l.bound,
        cycles3: f2(b.cycles / l.cycles),
        total: f2(b.dramBytes.total / 1024),
        total2: f2(l.dramBytes.total / 1024),
        total3: f2(b.energyPj.total / 1e6),
        total4: f2(l.energyPj.total / 1e6),
      }),
    );
  });
  lines.push(
    md('table-row-4', {
      macs: w4.totals.macs.toLocaleString('en-US'),
      cycles: Math.round(i8.totals.cycles).toLocaleString('en-US'),
      cycles2: Math.round(w4.totals.cycles).toLocaleString('en-US'),
      cycles3: f2(i8.totals.cycles / w4.totals.cycles),
      dramBytes: f2(i8.totals.dramBytes / 1024),
      dramBytes2: f2(w4.totals.dramBytes / 1024),
      energyUj: f2(i8.totals.energyUj),
      energyUj2: f2(w4.totals.energyUj),
    }),
    '',
  );

  // Target 2: MPQ versus uniform W4A4 on the MPQ preset.
  lines.push('## MPQ against uniform W4A4 on the MPQ preset', '');
  lines.push(md('on-a-2-bit-brick'), '');
  for (const m of models)
    for (const bits of [3, 2]) {
      const mpq = reports.get(`${m.name}/MPQ W${bits}A4/mpq65`),
        uni = reports.get(`${m.name}/W4A4/mpq65`);
      if (!mpq || !uni) continue;
      const note = mpqLayers(m.mpqRecord.replace('{bits}', String(bits))) ? '' : ' (no MPQ run recorded: no flagged weights assumed)';
      lines.push(
        md('mpq-w-a4-energy-j', {
          mName: m.name,
          bits,
          note,
          energyUj: f2(uni.totals.energyUj),
          energyUj2: f2(mpq.totals.energyUj),
          energyUj3: f2(uni.totals.energyUj / mpq.totals.energyUj),
          latencyMs: f3(uni.totals.latencyMs),
          latencyMs2: f3(mpq.totals.latencyMs),
          latencyMs3: f2(uni.totals.latencyMs / mpq.totals.latencyMs),
        }),
      );
    }
  const git = gitState();
  lines.push(
    '',
    `Generated at commit \`${git.commit.slice(0, 8)}${git.dirty ? '+' : ''}\` from the presets and tables in \`src/hw/\`.`,
    '',
  );
  writeFileAtomic(path.join(root, 'docs', 'HARDWARE.md'), lines.join('\n'));
  console.log('wrote docs/HARDWARE.md');
}

main().catch((e: Error) => {
  console.error(`render-hardware: ${e.message}`);
  process.exit(1);
});

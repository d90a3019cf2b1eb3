// `lowbit simulate --model q/ --accel bitfusion`: the cost of a quantized (or float) checkpoint on
// an accelerator — per-layer MACs, operand widths, cycles, DRAM traffic, energy and what bounds
// each layer — with totals and the ratios against the INT8 and FP32 baselines.
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import { loadAccelerator, presetNames } from '../hw/config.js';
import { simulate, type SimulationReport } from '../hw/simulate.js';
import { storedKernels } from '../deploy/pack-checkpoint.js';
import { loadRunCheckpoint } from '../train/load-run.js';
import { positiveInt } from './options.js';

function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The per-layer table and totals as text. */
export function simulationText(r: SimulationReport, label: string): string {
  const head = ['layer', 'MACs', 'W/A bits', 'bricks/MAC', 'util', 'cycles', 'DRAM KB', 'energy µJ', 'bound'];
  const rows = r.layers.map((l) => [
    l.name,
    fmt(l.macs, 0),
    `${l.weightBits}/${l.inputBits}`,
    fmt(l.bricksPerMac, 2),
    `${Math.round(100 * l.utilization)}%`,
    fmt(l.cycles, 0),
    fmt(l.dramBytes.total / 1024),
    fmt(l.energyPj.total / 1e6, 2),
    l.bound,
  ]);
  const t = r.totals;
  rows.push(['total', fmt(t.macs, 0), '', '', '', fmt(t.cycles, 0), fmt(t.dramBytes / 1024), fmt(t.energyUj, 2), '']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const b = r.baselines;
  return [
    `${label} on ${r.accelerator}, batch ${r.batch}`,
    line(head),
    ...rows.map(line),
    '',
    `latency ${fmt(t.latencyMs, 3)} ms, energy ${fmt(t.energyUj, 1)} µJ, weights ${fmt(t.weightBytes / 1024)} KB`,
    `vs INT8 on ${b.int8.accelerator} (${fmt(b.int8.totals.latencyMs, 3)} ms, ${fmt(b.int8.totals.energyUj, 1)} µJ): ${fmt(r.speedupVsInt8, 2)}x faster, ${fmt(r.energyRatioVsInt8, 2)}x less energy`,
    `vs FP32 on ${b.fp32.accelerator}, the same array with float32 MAC units ` +
      `(${fmt(b.fp32.totals.latencyMs, 3)} ms, ${fmt(b.fp32.totals.energyUj, 1)} µJ): ${fmt(r.speedupVsFp32, 2)}x faster, ${fmt(r.energyRatioVsFp32, 2)}x less energy`,
  ].join('\n');
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('cycles, DRAM traffic and energy of a checkpoint on a low-bit accelerator, against INT8 and FP32 baselines')
    .option('--model <path>', 'checkpoint (.lbck) or run directory, quantized or float')
    .option('--accel <name|file>', `accelerator preset (${presetNames.join(', ')}) or a JSON config file`, 'bitfusion')
    .option('--batch <n>', 'images per inference', positiveInt, 1)
    .option('--list', 'list the accelerator presets')
    .option('--allow-partial', 'simulate an unfinished run (and say so)')
    .option('--json', 'print the result as JSON')
    .action(async (f: { model?: string; accel: string; batch: number; list?: boolean; allowPartial?: boolean; json?: boolean }) => {
      if (f.list) {
        for (const name of presetNames) {
          const a = loadAccelerator(name);
          console.log(`${name.padEnd(10)} ${a.description}`);
        }
        return;
      }
      if (!f.model) throw new Error('--model is required (a checkpoint or run directory); --list shows the accelerators');
      const accel = loadAccelerator(f.accel);
      await initEngine({ quiet: true });
      const { ck, partial } = await loadRunCheckpoint(f.model, '--model', Boolean(f.allowPartial));
      const r = simulate(ck.model, accel, { batch: f.batch, stored: storedKernels(ck) });
      if (partial) process.stderr.write(`note: ${partial}\n`);
      if (f.json) console.log(JSON.stringify({ ...r, partial }));
      else console.log(simulationText(r, f.model));
    });
}

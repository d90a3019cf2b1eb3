// `lowbit report --runs run/ q/ search/ --out report.html`: one self-contained HTML page with the
// runs' accuracy against bits per weight, the search front, per-layer bit widths, weight
// histograms with the format's levels, energy and latency per layer, and training curves.
import { Command } from 'commander';
import { presetNames } from '../hw/config.js';
import { initEngine } from '../engine/setup.js';
import { buildReport } from '../report/build.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('write an HTML report (inline SVG plots, no network needed to view it) of training, quantization and search runs')
    .requiredOption('--runs <paths...>', 'run directories (train, quantize, demo) and search results (front.json or its directory)')
    .option('--out <file>', 'the HTML file to write', 'report.html')
    .option('--accel <name|file>', `accelerator for the energy and latency figures (${presetNames.join(', ')}) or JSON config`, 'bitfusion')
    .option('--title <text>', 'page title')
    .action(async (f: { runs: string[]; out: string; accel: string; title?: string }) => {
      await initEngine({ quiet: true });
      const r = await buildReport({ inputs: f.runs, out: f.out, accelerator: f.accel, ...(f.title ? { title: f.title } : {}) });
      console.log(`${f.out}: ${r.runs.length} runs, ${r.searches.length} searches, ${(r.bytes / 1024).toFixed(0)} KB`);
    });
}

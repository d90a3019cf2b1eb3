// Training-step benchmark: median seconds per SGD-momentum step of the zoo models on synthetic
// data, next to PyTorch (Debian python3-torch) on the same models in the same run.
// Prints one JSON line per model. Usage: npm run bench [-- --models vgg9 --steps 10 --threads 2]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { initEngine } from '../src/engine/setup.js';
import { buildModel } from '../src/models/zoo.js';
import { totalMacs } from '../src/models/macs.js';
import { timeTrainSteps, writeBenchRecord } from './step-timing.js';
import type { InputShape } from '../src/models/common.js';

const cases: Record<string, { batch: number; shape: InputShape }> = {
  lenet5: { batch: 128, shape: [28, 28, 1] },
  resnet20: { batch: 128, shape: [32, 32, 3] },
  mobilenet: { batch: 128, shape: [28, 28, 1] },
  vgg9: { batch: 64, shape: [32, 32, 3] },
};

function torchPeer(models: string[], threads: number, steps: number): Map<string, number> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.resolve(here, '..', '..', 'bench', 'torch_train_step.py');
  const r = spawnSync('/usr/bin/python3', [script, '--threads', String(threads), '--steps', String(steps), '--models', models.join(',')], {
    encoding: 'utf8',
  });
  const out = new Map<string, number>();
  if (r.status !== 0) {
    process.stderr.write(`bench: PyTorch peer failed (${r.error?.message ?? r.stderr.trim().split('\n').pop()}); reporting lowbit only\n`);
    return out;
  }
  for (const line of r.stdout.trim().split('\n')) {
    const j = JSON.parse(line) as { model: string; median_s: number };
    out.set(j.model, j.median_s);
  }
  return out;
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--models <list>', 'comma-separated models', 'lenet5,resnet20,vgg9')
    .option('--steps <n>', 'timed steps per model', '10')
    .option('--threads <n>', 'threads for lowbit and PyTorch', '2')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--record <file>', 'also write the rows as a JSON record (e.g. results/bench-train-step.json)')
    .parse()
    .opts<{ models: string; steps: string; threads: string; peer: boolean; record?: string }>();
  const models = opts.models.split(',');
  for (const m of models) if (!cases[m]) throw new Error(`unknown model '${m}'; expected one of ${Object.keys(cases).join(', ')}`);
  const steps = Number(opts.steps),
    threads = Number(opts.threads);
  const info = await initEngine({ threads });
  const peer = opts.peer ? torchPeer(models, threads, steps) : new Map<string, number>();
  const rows: Record<string, unknown>[] = [];
  for (const name of models) {
    const { batch, shape } = cases[name];
    const model = buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
    const s = timeTrainSteps(model, batch, shape, steps);
    const flops = 3 * 2 * totalMacs(model) * batch; // forward + two backward passes
    const torch = peer.get(name) ?? null;
    const row = {
      model: name,
      batch,
      steps,
      threads,
      native: info.native,
      lowbit_s: Number(s.toFixed(4)),
      torch_s: torch === null ? null : Number(torch.toFixed(4)),
      ratio: torch === null ? null : Number((s / torch).toFixed(3)),
      gflops: Number((flops / s / 1e9).toFixed(1)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    model.dispose();
  }
  if (opts.record) writeBenchRecord(opts.record, 'bench-train-step', `npm run bench -- --record ${opts.record}`, rows);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});

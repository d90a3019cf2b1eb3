// Runs experiments by id (or every one without a record with --missing) and writes
// results/<id>.json. Interrupted runs resume from runs/<id>/checkpoint.lbck.
// Usage: node dist/experiments/run.js <id ...> | --missing | --list
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { runTraining } from '../src/train/train.js';
import { trainProgress } from '../src/cli/progress.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { cliFor, experiments, findExperiment, type Experiment } from './registry.js';
import { gitState, machine, type RunRecord } from './record.js';

const root = process.cwd();
export const resultsDir = path.join(root, 'results');
export const checkpointsDir = path.join(root, 'checkpoints');

async function runOne(e: Experiment): Promise<void> {
  const runDir = path.join(root, 'runs', e.id);
  const git = gitState(); // the code the run starts with
  const r = await runTraining(e.config, { outDir: runDir, resume: true, events: trainProgress(e.id) });
  const accs = r.history.map((h) => h.testAccuracy);
  const record: RunRecord = {
    id: e.id,
    title: e.title,
    command: `node dist/experiments/run.js ${e.id}`,
    cli: cliFor(e, `runs/${e.id}`),
    config: r.config as unknown as Record<string, unknown>,
    seed: r.config.seed,
    history: r.history as unknown as Record<string, number>[],
    final: { testAccuracy: accs[accs.length - 1], bestTestAccuracy: Math.max(...accs) },
    ...(e.target !== undefined ? { target: e.target } : {}),
    wallSeconds: r.history.reduce((s, h) => s + h.seconds, 0),
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machine(),
    finishedAt: new Date().toISOString(),
  };
  if (e.keepCheckpoint) {
    // Weights only (no optimizer state): what later experiments start from, small enough to commit.
    const ck = await loadCheckpoint(r.checkpoint);
    mkdirSync(checkpointsDir, { recursive: true });
    saveCheckpoint(path.join(checkpointsDir, `${e.id}.lbck`), {
      model: ck.model,
      modelSpec: ck.modelSpec,
      state: { config: r.config, history: r.history },
    });
  }
  writeJsonAtomic(path.join(resultsDir, `${e.id}.json`), record);
  process.stderr.write(
    `${e.id}: test accuracy ${(100 * record.final.testAccuracy).toFixed(2)}% in ${(record.wallSeconds / 60).toFixed(1)} min -> results/${e.id}.json\n`,
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 0 || args.includes('--help')) {
    console.log('usage: node dist/experiments/run.js <id ...> | --missing | --list');
    return;
  }
  if (args.includes('--list')) {
    for (const e of experiments)
      console.log(`${e.id}\t${existsSync(path.join(resultsDir, `${e.id}.json`)) ? 'done' : 'missing'}\t${e.title}`);
    return;
  }
  const list = args.includes('--missing')
    ? experiments.filter((e) => !existsSync(path.join(resultsDir, `${e.id}.json`)))
    : args.map(findExperiment);
  // One at a time: two trainings on this 2-core machine would only slow each other down.
  for (const e of list) await runOne(e);
}

main().catch((e: Error) => {
  process.stderr.write(`experiments: ${e.message}\n`);
  process.exit(1);
});

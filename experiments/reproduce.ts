// Reruns a full-precision baseline from scratch on the current code and holds it against the
// committed checkpoint and its record: the check a record made from uncommitted code needs before
// its checkpoint is trusted as "what this code gives". The committed checkpoint is not replaced
// (every later row starts from it); the verdict goes to results/reproduce/<id>.json and RESULTS.
// Usage: node dist/experiments/reproduce.js <fp-id ...>
import path from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { runTraining } from '../src/train/train.js';
import { trainProgress } from '../src/cli/progress.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { findExperiment } from './registry.js';
import { gitState, machine, readRecords } from './record.js';
import { prose } from './prose.js';

const md = prose('reproduce');

export interface Reproduction {
  id: string;
  command: string;
  record: { gitCommit: string; gitDirty: boolean; testAccuracy: number };
  accuracy: number;
  tensors: number;
  /** Tensors whose every value equals the committed checkpoint's, bit for bit. */
  identicalTensors: number;
  maxAbsDifference: number;
  wallSeconds: number;
  gitCommit: string;
  gitDirty: boolean;
  machine: ReturnType<typeof machine>;
  finishedAt: string;
}

const root = process.cwd();

async function reproduce(id: string): Promise<Reproduction> {
  const e = findExperiment(id);
  if (e.group !== 'fp') throw new Error(`${id} is not a full-precision baseline`);
  const record = readRecords().get(id);
  if (!record) throw new Error(`${id} has no record to reproduce`);
  const git = gitState();
  const t0 = performance.now();
  const r = await runTraining(e.config, { outDir: path.join(root, 'runs', `reproduce-${id}`), force: true, events: trainProgress(id) });
  const committed = await loadCheckpoint(path.join(root, 'checkpoints', `${id}.lbck`));
  const mine = r.model.weights,
    theirs = committed.model.weights;
  if (mine.length !== theirs.length) throw new Error(`${id}: ${mine.length} weights against ${theirs.length} in the committed checkpoint`);
  let identical = 0,
    maxDiff = 0;
  mine.forEach((w, i) => {
    const a = w.read().dataSync() as Float32Array,
      b = theirs[i].read().dataSync() as Float32Array;
    let same = a.length === b.length;
    for (let j = 0; j < a.length; j++) {
      const d = Math.abs(a[j] - b[j]);
      if (d !== 0 || Object.is(a[j], -0) !== Object.is(b[j], -0)) same = false;
      maxDiff = Math.max(maxDiff, d);
    }
    if (same) identical++;
  });
  return {
    id,
    command: `node dist/experiments/reproduce.js ${id}`,
    record: { gitCommit: record.gitCommit, gitDirty: record.gitDirty, testAccuracy: record.final.testAccuracy },
    accuracy: r.history[r.history.length - 1].testAccuracy,
    tensors: mine.length,
    identicalTensors: identical,
    maxAbsDifference: maxDiff,
    wallSeconds: (performance.now() - t0) / 1000,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machine(),
    finishedAt: new Date().toISOString(),
  };
}

async function main(): Promise<void> {
  const ids = process.argv.slice(2);
  if (ids.length === 0) throw new Error('usage: node dist/experiments/reproduce.js <fp-id ...>');
  for (const id of ids) {
    const rep = await reproduce(id);
    writeJsonAtomic(path.join(root, 'results', 'reproduce', `${id}.json`), rep);
    process.stderr.write(
      md('recorded-of-tensors-identical-max', {
        id,
        accuracy: (100 * rep.accuracy).toFixed(2),
        testAccuracy: (100 * rep.record.testAccuracy).toFixed(2),
        identicalTensors: rep.identicalTensors,
        tensors: rep.tensors,
        maxAbsDifference: rep.maxAbsDifference.toExponential(2),
      }) + '\n',
    );
  }
}

main().catch((e: Error) => {
  process.stderr.write(`reproduce: ${e.message}\n`);
  process.exit(1);
});

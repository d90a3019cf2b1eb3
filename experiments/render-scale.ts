// Renders docs/SCALE.md: running on many machines, the queue's measured cost per job
// (results/bench-queue.json) and the projection of the recorded vgg9 search onto 10 and 100 workers.
// Usage: node dist/experiments/render-scale.js
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.js';
import { prose } from './prose.js';
import type { RunRecord } from './record.js';

const md = prose('render-scale');
const root = process.cwd();

interface BenchRow {
  kind: string;
  store?: string;
  jobs?: number;
  overheadMs?: number;
  limitTrain?: number;
  vsLenet5Epoch?: number;
  vsVgg9Epoch?: number;
  model?: string;
  bytes?: number;
  putMs?: number;
  getMs?: number;
  lenet5EpochSeconds?: number;
  vgg9EpochSeconds?: number;
  vgg9From?: string;
  vgg9SearchPlanSeconds?: number | null;
}

interface BenchRecord {
  command: string;
  rows: BenchRow[];
  gitCommit: string;
  machine: RunRecord['machine'];
}

/** Jobs taken first come, first served (by release time) by the first free worker; returns when the last ends. */
export function scheduleEnd(jobs: { release: number; seconds: number }[], workers: number, overheadSeconds: number): number {
  const free = new Array<number>(Math.max(1, workers)).fill(0);
  let end = 0;
  for (const j of [...jobs].sort((a, b) => a.release - b.release || b.seconds - a.seconds)) {
    let w = 0;
    for (let k = 1; k < free.length; k++) if (free[k] < free[w]) w = k;
    free[w] = Math.max(free[w], j.release) + j.seconds + overheadSeconds;
    end = Math.max(end, free[w]);
  }
  return end;
}

const minutes = (s: number) => (s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

export function renderScale(bench: BenchRecord, search: { id: string; points: number; epochs: number }): string {
  const row = (kind: string, store?: string) => bench.rows.find((r) => r.kind === kind && (store === undefined || r.store === store));
  const epochs = row('epochs')!;
  const perJob = bench.rows.filter((r) => r.kind === 'per-job');
  const redis = row('per-job', 'redis')!;
  const overhead = Math.max(...perJob.map((r) => r.overheadMs!)) / 1000;
  const latency = row('one-job-latency')!;
  const planSeconds = epochs.vgg9SearchPlanSeconds;
  if (planSeconds === null || planSeconds === undefined)
    throw new Error('results/bench-queue.json lacks the vgg9 sensitivity pass (run the bench without --no-plan)');
  const point = search.epochs * epochs.vgg9EpochSeconds!;
  const tail = Math.max(0, latency.overheadMs! / 1000 - overhead);
  const jobs = Array.from({ length: search.points }, () => ({ release: planSeconds, seconds: point }));
  const critical = planSeconds + point;
  const projected = (w: number) => scheduleEnd(jobs, w, overhead) + tail;
  const ratioAt10 = projected(10) / critical;
  // Nine searches (three seeds × three objectives), 15 points each, their passes one after another on the coordinator.
  const big = Array.from({ length: 9 }, (_, s) =>
    Array.from({ length: 15 }, () => ({ release: (s + 1) * planSeconds, seconds: point })),
  ).flat();
  const serial = 9 * planSeconds + big.length * point;
  const lenetTarget = redis.vsLenet5Epoch! <= 0.02;
  return [
    md('intro'),
    '',
    md('how-it-works'),
    '',
    md('running'),
    '',
    md('measured', {
      command: bench.command,
      commit: bench.gitCommit.slice(0, 7),
      machine: `${bench.machine.cpu}, ${bench.machine.cores} cores`,
      flags: bench.machine.cpuFlags ?? 'not recorded',
      // Records before the bench wrote it lack the subset size: said, not guessed.
      limitTrain: redis.limitTrain !== undefined ? `${redis.limitTrain} images` : "the bench's default subset (--limit-train)",
      jobs: redis.jobs,
      lenetEpoch: epochs.lenet5EpochSeconds!.toFixed(2),
      vggEpoch: epochs.vgg9EpochSeconds!.toFixed(0),
      overheadRows: perJob
        .map(
          (r) =>
            `| ${r.store} | ${r.overheadMs!.toFixed(0)} ms | ${(100 * r.vsLenet5Epoch!).toFixed(2)}% | ${(100 * r.vsVgg9Epoch!).toFixed(3)}% |`,
        )
        .join('\n'),
      latency: latency.overheadMs!.toFixed(0),
      firstJob: row('first-job')!.overheadMs!.toFixed(0),
      transferRows: bench.rows
        .filter((r) => r.kind === 'transfer')
        .map(
          (r) =>
            `| ${r.store} | ${r.model} | ${(r.bytes! / 1024).toFixed(0)} KiB | ${r.putMs!.toFixed(1)} ms | ${r.getMs!.toFixed(1)} ms |`,
        )
        .join('\n'),
      targetLine: `Target (issue 23): overhead per job ≤ 2% of a lenet5 Fashion-MNIST epoch. Measured: ${(100 * redis.vsLenet5Epoch!).toFixed(2)}% with the Redis store, ${lenetTarget ? 'met' : 'not met'}.`,
    }),
    '',
    md('projection', {
      searchId: search.id,
      points: search.points,
      epochs: search.epochs,
      planSeconds: planSeconds.toFixed(0),
      vggEpoch: epochs.vgg9EpochSeconds!.toFixed(0),
      vggFrom: epochs.vgg9From,
      overheadMs: (overhead * 1000).toFixed(0),
      projectionRows: [1, 2, 10, 100]
        .map((w) => `| ${w} | ${minutes(projected(w))} | ${minutes(critical)} | ${(projected(w) / critical).toFixed(3)}× |`)
        .join('\n'),
      projectionTarget: `Target (issue 23): within 1.3× of the critical path at 10 workers. Projected: ${ratioAt10.toFixed(3)}×, ${ratioAt10 <= 1.3 ? 'met' : 'not met'}.`,
      bigPoints: big.length,
      bigRows: [10, 100].map((w) => `| ${w} | ${minutes(scheduleEnd(big, w, overhead) + tail)} | ${minutes(serial)} |`).join('\n'),
    }),
    '',
  ].join('\n');
}

function main(): void {
  const benchFile = path.join(root, 'results', 'bench-queue.json');
  if (!existsSync(benchFile))
    throw new Error('results/bench-queue.json is missing: run node dist/bench/queue.js --record results/bench-queue.json');
  const bench = JSON.parse(readFileSync(benchFile, 'utf8')) as BenchRecord;
  const id = 'search-fashion-vgg9-latency';
  const rec = JSON.parse(readFileSync(path.join(root, 'results', `${id}.json`), 'utf8')) as {
    front: unknown[];
    config: { epochs: number };
  };
  writeFileAtomic(path.join(root, 'docs', 'SCALE.md'), renderScale(bench, { id, points: rec.front.length, epochs: rec.config.epochs }));
  console.log('wrote docs/SCALE.md');
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('experiments', 'render-scale.js'))) main();

// The JSON record an experiment run leaves in results/: enough to render a row and to rerun it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engineInfo } from '../src/engine/setup.js';

export interface RunRecord {
  id: string;
  title: string;
  command: string;
  cli: string;
  config: Record<string, unknown>;
  seed: number;
  history: Record<string, number>[];
  final: { testAccuracy: number; bestTestAccuracy: number };
  /** Quantization runs: accuracy of the FP checkpoint they started from, and the per-layer plan. */
  fpAccuracy?: number;
  plan?: unknown[];
  /** A retraining method's report (MPQ bits per weight and flags, SQ stages). */
  methodSummary?: Record<string, unknown>;
  /** Quantization error of the low-bit weights at the end of the run. */
  weightError?: { mse: number; relativeMse: number; weights: number };
  target?: number;
  wallSeconds: number;
  gitCommit: string;
  gitDirty: boolean;
  /** cpuFlags: the SIMD extensions the kernels dispatch on (records before it lack the field). */
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; engine: string; cpuFlags?: string };
  finishedAt: string;
  /** Runs made on a job queue: the worker (host:pid) that finished it; machine is the coordinator's. */
  worker?: string;
}

export function gitState(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    // Records and rendered docs are outputs, not inputs: a fresh record or render must not mark
    // the next run, started from the same code, as uncommitted work.
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!results', ':!docs'], {
        encoding: 'utf8',
      }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

export function machine(): RunRecord['machine'] {
  const e = engineInfo();
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    engine: e.native ? `native oneDNN ${e.dnnl}, ${e.threads} threads` : 'plain tfjs',
    cpuFlags: cpuFlags(),
  };
}

/** The SIMD extensions of this CPU that lowbit's kernels and its peers' dispatch on (x86 Linux; empty elsewhere). */
export function cpuFlags(): string {
  try {
    const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? []);
    return ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'].filter((f) => flags.has(f)).join(' ');
  } catch {
    return '';
  }
}

/** Every experiment record in results/ (benchmark records, bench-*.json, excluded), by id. */
export function readRecords(): Map<string, RunRecord> {
  const dir = path.join(process.cwd(), 'results');
  const out = new Map<string, RunRecord>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json') && !x.startsWith('bench-'))) {
    const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RunRecord;
    out.set(r.id, r);
  }
  return out;
}

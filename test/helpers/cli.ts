// Runs the lowbit CLI as a user would (a separate process).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const bin = path.join(repoRoot, 'bin', 'lowbit.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function lowbit(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function lowbitAsync(args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: 'ignore' });
}

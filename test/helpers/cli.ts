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

/** A command that failed with exit 1 and one error line matching `re`, with no stack trace. */
export function oneLineError(r: CliResult, re: RegExp): void {
  if (r.status !== 1) throw new Error(`expected exit 1, got ${r.status}: ${r.stdout}${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('(run with --help'));
  if (lines.length !== 1) throw new Error(`expected one error line, got:\n${r.stderr}`);
  if (!re.test(lines[0])) throw new Error(`the error line does not match ${re}:\n${lines[0]}`);
  if (/\n\s+at /.test(r.stderr)) throw new Error(`a stack trace:\n${r.stderr}`);
}

// A run directory and the rules that keep it evidence: one writer at a time (a lock for the
// whole life of the run), no finished or partial run replaced without --force or continued
// without --resume, never the run it reads from, room for a checkpoint before the work starts,
// and a status that says whether the run completed. Readers of a run (quantize, pack, simulate,
// export, search) refuse an unfinished one unless they are allowed a partial run, and say so.
import { existsSync, readdirSync, realpathSync, rmdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { lockDirectory, type DirLock } from '../util/lock.js';
import { makeDirectory } from '../util/output.js';
import { OptionError, opt } from '../util/option-error.js';

export const CHECKPOINT_FILE = 'checkpoint.lbck';
/** The files a run writes (and --force removes before it starts over). */
export const RUN_FILES = [CHECKPOINT_FILE, 'metrics.json', 'config.json'];

export interface RunStatus {
  finished: boolean;
  /** Epochs done and planned (null when the run has no epochs: PTQ, a foreign checkpoint). */
  done: number;
  epochs: number | null;
  /** Why the run stopped early, when it says (a diverged loss). */
  stopped?: string;
}

/** Whether a checkpoint's run completed: its own word when it has one, else its history against its epoch count. */
export function runStatus(state: Record<string, unknown>): RunStatus {
  const history = Array.isArray(state.history) ? state.history.length : 0;
  const cfg = (state.config ?? state.options) as { epochs?: unknown } | undefined;
  // A run that calibrates without retraining (ptq) records epochs 0: it has no epochs to count.
  const epochs = typeof cfg?.epochs === 'number' && cfg.epochs > 0 ? cfg.epochs : null;
  const stopped = typeof state.stopped === 'string' ? state.stopped : undefined;
  if (typeof state.finished === 'boolean') return { finished: state.finished, done: history, epochs, ...(stopped ? { stopped } : {}) };
  // Checkpoints written before runs recorded their status: finished when every planned epoch is in the history.
  // A calibration-only run (ptq) saves once, at its end, with its accuracy and no epochs.
  if (history === 0 && typeof state.finalAccuracy === 'number') return { finished: true, done: 0, epochs: null };
  return { finished: epochs === null ? true : history >= epochs, done: history, epochs };
}

export function describeStatus(s: RunStatus): string {
  const ep = s.epochs === null ? '' : ` (${s.done} of ${s.epochs} epochs)`;
  return s.finished ? `a finished run${ep}` : `an unfinished run${ep}${s.stopped ? `: ${s.stopped}` : ''}`;
}

/** A checkpoint file, or a run directory holding checkpoint.lbck; `flag` names the option in errors (opt(key), or a name). */
export function resolveCheckpoint(p: string, flag = opt('from')): string {
  if (p.trim() === '') throw new OptionError(`${flag}: empty path (expected a checkpoint .lbck or a run directory)`);
  if (!existsSync(p)) throw new OptionError(`${flag}: ${p} does not exist (expected a checkpoint .lbck or a run directory)`);
  return statSync(p).isDirectory() ? path.join(p, CHECKPOINT_FILE) : p;
}

/** The path with symlinks and '..' resolved as far as it exists (the rest appended). */
function canonical(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  while (!existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    tail.unshift(path.basename(head));
    head = parent;
  }
  return path.join(realpathSync(head), ...tail);
}

const inside = (child: string, parent: string) =>
  child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

export interface OpenRunOptions {
  outDir: string;
  /** The command for the lock and the messages ('train', 'quantize', ...). */
  command: string;
  resume?: boolean;
  force?: boolean;
  extendEpochs?: boolean;
  /** The checkpoint (or run directory) the run reads: the output may not be it or lie inside it. */
  from?: string;
}

export interface OpenRun {
  lock: DirLock;
  /** The directory already held a checkpoint (and --resume continues it). */
  existing: boolean;
  /** Releases the lock; after a failure, also removes the directory if this run created it and left it empty. */
  close(failed: boolean): void;
}

/** Checks and locks the output directory of a run; removes the old run's files under `force`. */
export function openRunDir(o: OpenRunOptions): OpenRun {
  if (typeof o.outDir !== 'string' || o.outDir.trim() === '')
    throw new OptionError(`${opt('outDir')}: empty path (expected a directory for the run)`);
  if (o.resume && o.force)
    throw new OptionError(`${opt('resume')} and ${opt('force')} contradict each other (continue the run, or replace it)`);
  if (o.extendEpochs && !o.resume)
    throw new OptionError(`${opt('extendEpochs')} changes the epoch count of a resumed run: it needs ${opt('resume')}`);
  const out = canonical(o.outDir);
  if (o.from !== undefined && existsSync(o.from)) {
    const from = canonical(o.from);
    const fromRun = statSync(from).isDirectory() ? from : path.basename(from) === CHECKPOINT_FILE ? path.dirname(from) : null;
    if ((fromRun && inside(out, fromRun)) || path.join(out, CHECKPOINT_FILE) === from)
      throw new OptionError(
        `${opt('outDir')} ${o.outDir} is${fromRun && out !== fromRun ? ' inside' : ''} the run ${opt('from')} reads (${o.from}): writing there would replace its checkpoint; choose another directory`,
      );
  }
  if (existsSync(o.outDir) && !statSync(o.outDir).isDirectory())
    throw new OptionError(`${opt('outDir')} ${o.outDir} is a file, expected a directory`);
  const created = !existsSync(o.outDir);
  makeDirectory(o.outDir, opt('outDir'));
  let lock: DirLock;
  try {
    lock = lockDirectory(o.outDir, o.command);
  } catch (e) {
    if (created && readdirSync(o.outDir).length === 0) rmdirSync(o.outDir);
    throw new OptionError(`${opt('outDir')} ${(e as Error).message}`);
  }
  const ck = path.join(o.outDir, CHECKPOINT_FILE);
  const existing = existsSync(ck);
  if (existing && !o.resume) {
    if (!o.force) {
      lock.release();
      throw new OptionError(
        `${opt('outDir')} ${o.outDir} already holds a run (${ck}); pass ${opt('resume')} to continue it or ${opt('force')} to replace it`,
      );
    }
    for (const f of RUN_FILES) rmSync(path.join(o.outDir, f), { force: true });
  }
  return {
    lock,
    existing: existing && Boolean(o.resume),
    close: (failed) => {
      lock.release();
      if (failed && created && readdirSync(o.outDir).length === 0) rmdirSync(o.outDir);
    },
  };
}

/** Refuses to start when the directory has no room for a checkpoint of about `bytes` (twice that during an atomic replace). */
export function checkSpace(dir: string, bytes: number): void {
  let free: number;
  try {
    const s = statfsSync(dir);
    free = s.bavail * s.bsize;
  } catch {
    return; // No statfs here (some network file systems): the atomic writes still fail cleanly.
  }
  const need = 2 * bytes + (1 << 20);
  if (free < need)
    throw new OptionError(
      `${opt('outDir')} ${dir}: ${(free / 2 ** 20).toFixed(1)} MiB free, a checkpoint of this run needs about ${(need / 2 ** 20).toFixed(1)} MiB (no space left on the device)`,
    );
}

/** One line for a reader that was allowed an unfinished input, or a refusal when it was not. */
export function partialNote(file: string, state: Record<string, unknown>, flag: string, allowPartial: boolean): string | null {
  const s = runStatus(state);
  if (s.finished) return null;
  if (!allowPartial)
    throw new OptionError(
      `${flag}: ${file} is ${describeStatus(s)}; finish it with ${opt('resume')}, or pass ${opt('allowPartial')} to use it as it is`,
    );
  return `${file} is ${describeStatus(s)} (used as it is)`;
}

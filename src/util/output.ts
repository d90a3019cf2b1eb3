// Preflight of an output path, before any work starts: not empty, not a directory where a file
// goes, a directory that can be created and written (a probe file proves it, since permission
// bits do not tell about read-only mounts), with the reason in words when it cannot.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeErrno } from './read.js';
import { OptionError, opt } from '../util/option-error.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * mkdir -p with the real reason when it fails: Node's recursive mkdir reports ENOENT on a
 * read-only file system, so the failing step is retried alone to learn its own errno.
 */
export function makeDirectory(dir: string, flag: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    let c = code(e);
    let head = path.resolve(dir);
    while (!existsSync(path.dirname(head)) && path.dirname(head) !== head) head = path.dirname(head);
    try {
      mkdirSync(head);
    } catch (inner) {
      c = code(inner) ?? c;
    }
    throw new OptionError(`${flag} ${dir}: cannot create the directory: ${describeErrno(c)}`);
  }
}

/** Creates the directory if needed and proves it writable; returns it. */
export function checkWritableDir(dir: string, flag: string): string {
  if (typeof dir !== 'string' || dir.trim() === '') throw new OptionError(`${flag}: empty path (expected a directory)`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new OptionError(`${flag} ${dir} is a file, expected a directory`);
  makeDirectory(dir, flag);
  const probe = path.join(dir, `.lowbit-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'w'));
  } catch (e) {
    throw new OptionError(`${flag} ${dir}: cannot write there: ${describeErrno(code(e))}`);
  } finally {
    rmSync(probe, { force: true });
  }
  return dir;
}

/** An output file's path is usable: not empty, not a directory, in a writable directory. Returns that directory. */
export function checkOutputFile(file: string, flag: string): string {
  if (typeof file !== 'string' || file.trim() === '') throw new OptionError(`${flag}: empty path (expected a file to write)`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new OptionError(`${flag} ${file} is a directory, expected a file`);
  return checkWritableDir(path.dirname(file), flag);
}

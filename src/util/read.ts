// Reading an input file with the error every command shows: which file, and why it failed.
import { readFileSync } from 'node:fs';

export function readInputFile(path: string, what = ''): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what ? `${what} ` : ''}${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A JSON input file, with the file named in the error when it cannot be read or parsed. */
export function readJsonFile(path: string, what = ''): unknown {
  const text = readInputFile(path, what).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${path} is not valid JSON${what ? ` (expected ${what})` : ''}: ${(e as Error).message}`);
  }
}

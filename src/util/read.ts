// Reading an input file with the error every command shows: which file, and why it failed.
import { readFileSync } from 'node:fs';

export function readInputFile(path: string, what = ''): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what ? `${what} ` : ''}${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// Reading an input file with the error every command shows: which file, and why it failed.
// Every read is bounded: a regular file larger than its format allows is refused by its size
// before anything is read, and a device or pipe (which reports no size: /dev/zero, a FIFO) is
// read in chunks that stop one byte past the limit. An optional prefix check (a magic number)
// refuses a stream of the wrong kind after its first bytes instead of after the limit.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Size limits of the files lowbit reads, by kind (generous for real files, small enough to refuse a runaway stream quickly). */
export const READ_LIMITS = {
  checkpoint: 2 ** 31 - 1,
  packed: 1 << 30,
  json: 64 << 20,
  accelerator: 1 << 20,
  dataset: 1 << 30,
} as const;

export interface ReadOptions {
  /** Largest accepted size in bytes. */
  maxBytes?: number;
  /** Bytes to read first, then handed to `checkPrefix` (which throws on the wrong kind of file). */
  prefixBytes?: number;
  checkPrefix?(prefix: Buffer): void;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** What an errno means to a user, for read and write errors alike. */
export function describeErrno(code: string | undefined): string {
  const words = errnoWords(code);
  return code && words !== code ? `${words} (${code})` : words;
}

function errnoWords(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EDQUOT':
      return 'disk quota exceeded';
    default:
      return code ?? 'unknown error';
  }
}

export function readInputFile(path: string, what = '', opts: ReadOptions = {}): Buffer {
  const label = `${what ? `${what} ` : ''}${path}`;
  const max = opts.maxBytes ?? READ_LIMITS.json;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`cannot read ${label}: ${describeErrno(errno(e))}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new Error(`cannot read ${label}: it is a directory`);
    if (st.isFile() && st.size > max)
      throw new Error(`${path}: ${st.size} bytes is over the ${max}-byte limit of ${what || 'this kind of file'}`);
    const chunks: Buffer[] = [];
    let total = 0;
    const readMore = (want: number): number => {
      const b = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        let n: number;
        try {
          n = readSync(fd, b, got, want - got, null);
        } catch (e) {
          throw new Error(`cannot read ${label}: ${describeErrno(errno(e))}`);
        }
        if (n === 0) break;
        got += n;
      }
      chunks.push(b.subarray(0, got));
      total += got;
      return got;
    };
    if (opts.prefixBytes) {
      readMore(opts.prefixBytes);
      opts.checkPrefix?.(Buffer.concat(chunks));
    }
    // A regular file is read whole (its size is known); a stream in 1 MiB steps up to one byte past the limit.
    const step = st.isFile() ? Math.max(1, st.size - total + 1) : 1 << 20;
    for (;;) {
      const got = readMore(Math.min(step, max + 1 - total));
      if (total > max) throw new Error(`${path}: more than the ${max}-byte limit of ${what || 'this kind of file'} (read stopped there)`);
      if (got === 0) break;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A JSON input file, with the file named in the error when it cannot be read or parsed. */
export function readJsonFile(path: string, what = '', maxBytes: number = READ_LIMITS.json): unknown {
  const text = readInputFile(path, what, { maxBytes }).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${path} is not valid JSON${what ? ` (expected ${what})` : ''}: ${(e as Error).message}`);
  }
}

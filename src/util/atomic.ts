// Atomic file writes: write a temp file next to the target, fsync, rename over the target.
// A reader (or a kill -9) never sees a half-written file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, parts: Uint8Array | string | (Uint8Array | string)[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const list = Array.isArray(parts) ? parts : [parts];
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const p of list) {
      const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

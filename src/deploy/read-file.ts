// Reading a .lowbit file from disk, bounded: a regular file over the limit is refused by its
// size, and a stream (a pipe, /dev/zero) is refused after its first bytes when they are not the
// packed format's magic, or at the limit.
import { READ_LIMITS, readInputFile } from '../util/read.js';
import { MAGIC, PackedFormatError } from './container.js';

export function readPackedFile(file: string): Uint8Array {
  return new Uint8Array(
    readInputFile(file, 'packed model', {
      maxBytes: READ_LIMITS.packed,
      prefixBytes: 4,
      checkPrefix: (p) => {
        if (p.toString('latin1') !== MAGIC) throw new PackedFormatError(`${file}: not a lowbit packed model (bad magic)`);
      },
    }),
  );
}

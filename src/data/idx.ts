// The idx format of MNIST / Fashion-MNIST (raw or gzip): big-endian magic 0x0000 0x08 ndim,
// ndim big-endian uint32 dimensions, then unsigned bytes. Every structural fault is reported
// with the file name and what was expected.
import { READ_LIMITS, readInputFile } from '../util/read.js';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Decompresses gzip data (detected by its magic bytes); other data is returned unchanged. */
export function maybeGunzip(buf: Uint8Array, what: string): Uint8Array {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf);
    } catch (e) {
      throw new Error(`${what}: damaged gzip data (${(e as Error).message})`);
    }
  }
  return buf;
}

export function parseIdx(raw: Uint8Array, what: string): IdxArray {
  const buf = maybeGunzip(raw, what);
  if (buf.length < 4) throw new Error(`${what}: not an idx file (${buf.length} bytes; expected at least a 4-byte header)`);
  if (buf[0] !== 0 || buf[1] !== 0)
    throw new Error(`${what}: not an idx file (bad magic 0x${Buffer.from(buf.subarray(0, 4)).toString('hex')})`);
  if (buf[2] !== 0x08) throw new Error(`${what}: idx data type 0x${buf[2].toString(16)} not supported (expected 0x08, unsigned bytes)`);
  const ndim = buf[3];
  if (ndim < 1 || ndim > 4) throw new Error(`${what}: idx file with ${ndim} dimensions (expected 1 to 4)`);
  const header = 4 + 4 * ndim;
  if (buf.length < header) throw new Error(`${what}: truncated idx header (${buf.length} bytes, expected ${header})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = buf.length - header;
  if (have < count) throw new Error(`${what}: truncated (expected ${count} data bytes for dims [${dims}], found ${have})`);
  if (have > count) throw new Error(`${what}: ${have - count} unexpected trailing bytes after dims [${dims}]`);
  return { dims, data: buf.subarray(header) };
}

export function readIdxFile(path: string): IdxArray {
  return parseIdx(readInputFile(path, 'dataset file', { maxBytes: READ_LIMITS.dataset }), path);
}

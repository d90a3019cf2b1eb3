// The .lowbit container: a header, a table of sections with a CRC-32 each, and the sections.
//
//   version 2: "LBPK" | u32 version | u32 section count | u32 CRC-32 of the table | sha256 (32 bytes) | table | sections
//   version 1: the same without the sha256 (still read)
//   table: count × (u32 length, u32 CRC-32)
//
// All integers little-endian; section 0 is the JSON manifest, the others are tensors. Reading
// checks everything before trusting anything: magic, version, a count the file can hold, the
// table's CRC, that the lengths add up to the file exactly, and every section's CRC. The CRCs
// name the damaged part; the sha256 over the whole file but itself catches what CRCs cannot:
// a writer that changed the content and recomputed them. It only allocates views into the bytes
// it was given. (@noble/hashes: a synchronous sha256 that runs unchanged in browsers.)
import { sha256 } from '@noble/hashes/sha2.js';
import { crc32 } from './crc32.js';

export const MAGIC = 'LBPK';
export const VERSION = 2;
const HEADER_V1 = 16;
const DIGEST = 32;
const HEADER = HEADER_V1 + DIGEST;
/** The manifest is JSON describing layers and tensors; 16 MB is far beyond any real model's. */
export const MAX_MANIFEST = 16 << 20;

/** A packed file that cannot be trusted: damaged, truncated, hostile or of another kind. */
export class PackedFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackedFormatError';
  }
}

export function writeContainer(manifest: unknown, sections: Uint8Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const all = [json, ...sections];
  const tableBytes = 8 * all.length;
  const total = HEADER + tableBytes + all.reduce((a, s) => a + s.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, all.length, true);
  let at = HEADER + tableBytes;
  all.forEach((s, i) => {
    dv.setUint32(HEADER + 8 * i, s.length, true);
    dv.setUint32(HEADER + 8 * i + 4, crc32(s), true);
    out.set(s, at);
    at += s.length;
  });
  dv.setUint32(12, crc32(out, HEADER, HEADER + tableBytes), true);
  out.set(contentDigest(out, HEADER), HEADER_V1);
  return out;
}

/** sha256 of the file with its digest field left out. */
function contentDigest(bytes: Uint8Array, header: number): Uint8Array {
  const h = sha256.create();
  h.update(bytes.subarray(0, HEADER_V1));
  h.update(bytes.subarray(header));
  return h.digest();
}

export interface Container {
  manifest: unknown;
  /** Sections after the manifest (index 1 is sections[0]), views into the input. */
  sections: Uint8Array[];
}

export function readContainer(bytes: Uint8Array): Container {
  const fail = (what: string): never => {
    throw new PackedFormatError(what);
  };
  if (bytes.length < HEADER_V1) fail(`not a lowbit packed model: ${bytes.length} bytes is shorter than the ${HEADER_V1}-byte header`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) fail('not a lowbit packed model (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== VERSION && version !== 1) fail(`packed model version ${version} is not supported (expected 1 or ${VERSION})`);
  const header = version === 1 ? HEADER_V1 : HEADER;
  if (bytes.length < header) fail(`truncated file: ${bytes.length} bytes is shorter than the ${header}-byte header`);
  const count = dv.getUint32(8, true);
  if (count < 1 || header + 8 * count > bytes.length)
    fail(`damaged header: ${count} sections cannot fit in ${bytes.length} bytes (truncated or damaged file)`);
  const tableEnd = header + 8 * count;
  if (crc32(bytes, header, tableEnd) !== dv.getUint32(12, true)) fail('damaged section table (CRC mismatch)');
  let at = tableEnd;
  const views: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = dv.getUint32(header + 8 * i, true);
    if (len > bytes.length - at) fail(`truncated file: section ${i} needs ${len} bytes, ${bytes.length - at} remain`);
    const s = bytes.subarray(at, at + len);
    if (crc32(s) !== dv.getUint32(header + 8 * i + 4, true)) fail(`damaged section ${i} (CRC mismatch)`);
    views.push(s);
    at += len;
  }
  if (at !== bytes.length) fail(`${bytes.length - at} unexpected bytes after the last section`);
  if (version !== 1) {
    const want = contentDigest(bytes, header);
    for (let i = 0; i < DIGEST; i++)
      if (bytes[HEADER_V1 + i] !== want[i])
        fail('content digest mismatch: the file was changed after it was written (its CRCs agree, its sha256 does not)');
  }
  if (views[0].length > MAX_MANIFEST) fail(`manifest of ${views[0].length} bytes exceeds the ${MAX_MANIFEST}-byte limit`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(views[0]));
  } catch {
    fail('damaged manifest (not valid UTF-8 JSON)');
  }
  return { manifest, sections: views.slice(1) };
}

// The CIFAR-10 binary layout: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G,
// 1024 B, row-major), 10000 records per file. Converted here to HWC for the NHWC engine.
import { READ_LIMITS, readInputFile } from '../util/read.js';

export const CIFAR_RECORD = 1 + 32 * 32 * 3;

export interface LabeledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export function parseCifarBatch(buf: Uint8Array, what: string, numClasses = 10): LabeledImages {
  if (buf.length === 0 || buf.length % CIFAR_RECORD !== 0)
    throw new Error(
      `${what}: ${buf.length} bytes is not a whole number of ${CIFAR_RECORD}-byte CIFAR records (truncated or not a CIFAR-10 binary batch)`,
    );
  const count = buf.length / CIFAR_RECORD;
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const o = r * CIFAR_RECORD;
    const label = buf[o];
    if (label >= numClasses) throw new Error(`${what}: record ${r} has label ${label} (expected 0..${numClasses - 1})`);
    labels[r] = label;
    const dst = r * 3072;
    for (let p = 0; p < 1024; p++) {
      images[dst + p * 3] = buf[o + 1 + p];
      images[dst + p * 3 + 1] = buf[o + 1 + 1024 + p];
      images[dst + p * 3 + 2] = buf[o + 1 + 2048 + p];
    }
  }
  return { images, labels, count };
}

export function readCifarFiles(paths: string[]): LabeledImages {
  const parts = paths.map((p) => parseCifarBatch(readInputFile(p, 'dataset file', { maxBytes: READ_LIMITS.dataset }), p));
  const count = parts.reduce((s, p) => s + p.count, 0);
  const images = new Uint8Array(count * 3072),
    labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * 3072);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { images, labels, count };
}

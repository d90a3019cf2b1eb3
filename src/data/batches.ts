// Turns uint8 HWC images into normalized float32 NHWC batches, with the CIFAR training
// augmentation (random crop from a zero-padded image, padding 4, and random horizontal flip).
import { tf, type Tensor } from '../engine/tf.js';
import type { LabeledImages } from './cifar.js';
import type { DatasetInfo } from './datasets.js';
import type { Rng } from './rng.js';

export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** 256-entry lookup per channel: (v/255 - mean) / std. */
export function normalizationTable(info: Pick<DatasetInfo, 'mean' | 'std'>): Float32Array[] {
  return info.mean.map((m, c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - m) / info.std[c];
    return t;
  });
}

export interface BatchOptions {
  /** Apply crop + flip (training only). */
  augment?: boolean;
  rng?: Rng;
  pad?: number;
}

export function makeBatch(
  split: LabeledImages,
  info: DatasetInfo,
  indices: ArrayLike<number>,
  lut: Float32Array[],
  opts: BatchOptions = {},
): Batch {
  const [h, w, c] = info.shape;
  const per = h * w * c;
  const n = indices.length;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  const augment = Boolean(opts.augment);
  if (augment && !opts.rng) throw new Error('makeBatch: augmentation needs an rng');
  const pad = opts.pad ?? 4;
  const zero = lut.map((t) => t[0]);
  for (let b = 0; b < n; b++) {
    const idx = indices[b];
    const src = idx * per;
    const dst = b * per;
    y[b] = split.labels[idx];
    if (!augment) {
      for (let i = 0; i < per; i++) x[dst + i] = lut[i % c][split.images[src + i]];
      continue;
    }
    const dy = opts.rng!.int(2 * pad + 1) - pad,
      dx = opts.rng!.int(2 * pad + 1) - pad;
    const flip = opts.rng!.next() < 0.5;
    for (let r = 0; r < h; r++) {
      const sr = r + dy;
      for (let col = 0; col < w; col++) {
        const sc0 = (flip ? w - 1 - col : col) + dx;
        const o = dst + (r * w + col) * c;
        if (sr < 0 || sr >= h || sc0 < 0 || sc0 >= w) {
          for (let ch = 0; ch < c; ch++) x[o + ch] = zero[ch];
        } else {
          const s = src + (sr * w + sc0) * c;
          for (let ch = 0; ch < c; ch++) x[o + ch] = lut[ch][split.images[s + ch]];
        }
      }
    }
  }
  return { x: tf.tensor4d(x, [n, h, w, c]), y: tf.tensor1d(y, 'int32') };
}

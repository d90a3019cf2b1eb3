// Small generated image folders in the ImageFolder layout, written with sharp, with the exact
// pixels of each (lossless) PNG kept so that tests can compare what the loader decoded.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { makeRng } from '../../src/data/rng.js';

export interface FolderSpec {
  classes: string[];
  perClass: number;
  /** [height, width]; a function gives each image its own size. */
  size: [number, number] | ((cls: number, i: number) => [number, number]);
  channels: 1 | 3;
  format?: 'png' | 'jpeg';
  /** Write under train/ (perClass) and test/ (testPerClass) instead of class folders at the top. */
  testPerClass?: number;
  seed?: number;
}

/** Relative path → HWC pixels as written. */
export type WrittenImages = Map<string, Uint8Array>;

/**
 * Images whose content depends on the class (a bright band whose row is the class index, plus
 * noise), so a small model can learn them and a test can tell the classes apart.
 */
export async function writeImageFolder(dir: string, spec: FolderSpec): Promise<WrittenImages> {
  const rng = makeRng(spec.seed ?? 7);
  const written: WrittenImages = new Map();
  const splits: [string, number][] = spec.testPerClass
    ? [
        ['train', spec.perClass],
        ['test', spec.testPerClass],
      ]
    : [['', spec.perClass]];
  for (const [split, n] of splits)
    for (let c = 0; c < spec.classes.length; c++) {
      const classDir = path.join(dir, split, spec.classes[c]);
      mkdirSync(classDir, { recursive: true });
      for (let i = 0; i < n; i++) {
        const [h, w] = typeof spec.size === 'function' ? spec.size(c, i) : spec.size;
        const px = new Uint8Array(h * w * spec.channels);
        const band = Math.floor(((c + 0.5) * h) / spec.classes.length);
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let k = 0; k < spec.channels; k++)
              px[(y * w + x) * spec.channels + k] = Math.abs(y - band) <= Math.max(1, h / 10) ? 200 + rng.int(56) : rng.int(60);
        const img = sharp(Buffer.from(px), { raw: { width: w, height: h, channels: spec.channels } });
        const withSpace = spec.channels === 1 ? img.toColourspace('b-w') : img;
        const format = spec.format ?? 'png';
        const rel = [split, spec.classes[c], `img${String(i).padStart(3, '0')}.${format === 'png' ? 'png' : 'jpg'}`]
          .filter(Boolean)
          .join('/');
        const bytes = format === 'png' ? await withSpace.png().toBuffer() : await withSpace.jpeg({ quality: 95 }).toBuffer();
        writeFileSync(path.join(dir, rel), bytes);
        written.set(rel, px);
      }
    }
  return written;
}

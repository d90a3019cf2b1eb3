// What `--data` names: a registered dataset (mnist, fashion-mnist, cifar10) or an image folder,
// `folder:<dir>[?size=HxW&channels=1|3&test=0.2&seed=1&skip-bad=1]`. The canonical form (absolute
// directory, options in a fixed order) is what checkpoints and packed files record, so a later
// stage reloads exactly the same images with the same split.
import path from 'node:path';
import { datasetNames, isRegisteredDataset, type DatasetName } from './datasets.js';

export const FOLDER_PREFIX = 'folder:';

export interface FolderRef {
  kind: 'folder';
  /** Absolute directory holding one subfolder per class, or train/ and test/ with one each. */
  dir: string;
  /** Output size of every image; default: the images' own size when they all agree. */
  size?: [number, number];
  /** 1 (grayscale) or 3 (RGB); default 1 when every image is grayscale, else 3. */
  channels?: 1 | 3;
  /** Share of each class held out for testing when there are no train/ and test/ folders. */
  test: number;
  /** Seed of that split. */
  seed: number;
  /** Skip (and count) images that cannot be decoded instead of stopping at the first. */
  skipBad: boolean;
}

export type DatasetRef = { kind: 'registered'; name: DatasetName } | FolderRef;

export const DEFAULT_TEST_SHARE = 0.2;

/** One line for help texts. */
export const DATA_HELP = `${datasetNames.join(', ')}, or folder:<dir> (one subfolder per class, PNG/JPEG)`;

/** Parses `--data`; relative folders are resolved against `cwd`. */
export function parseDatasetRef(text: string, cwd = process.cwd()): DatasetRef {
  if (isRegisteredDataset(text)) return { kind: 'registered', name: text };
  if (!text.startsWith(FOLDER_PREFIX)) throw new Error(`unknown dataset '${text}'; expected ${DATA_HELP}`);
  const body = text.slice(FOLDER_PREFIX.length);
  const q = body.lastIndexOf('?');
  const dir = q < 0 ? body : body.slice(0, q);
  if (!dir) throw new Error(`'${text}': the folder is missing; expected folder:<dir>`);
  const ref: FolderRef = { kind: 'folder', dir: path.resolve(cwd, dir), test: DEFAULT_TEST_SHARE, seed: 1, skipBad: false };
  if (q >= 0) for (const [key, value] of new URLSearchParams(body.slice(q + 1))) setOption(ref, key, value, text);
  return ref;
}

function setOption(ref: FolderRef, key: string, value: string, text: string): void {
  const bad = (expected: string) => new Error(`'${text}': ${key}=${value} is not valid; expected ${expected}`);
  switch (key) {
    case 'size': {
      const m = /^(\d+)(?:x(\d+))?$/.exec(value);
      const h = m ? Number(m[1]) : NaN,
        w = m ? Number(m[2] ?? m[1]) : NaN;
      if (!(h >= 1 && h <= 4096 && w >= 1 && w <= 4096)) throw bad('N or HxW with sides of 1..4096 pixels');
      ref.size = [h, w];
      return;
    }
    case 'channels':
      if (value !== '1' && value !== '3') throw bad('1 or 3');
      ref.channels = Number(value) as 1 | 3;
      return;
    case 'test': {
      const t = Number(value);
      if (!(t > 0 && t < 1)) throw bad('a share between 0 and 1, such as 0.2');
      ref.test = t;
      return;
    }
    case 'seed': {
      const s = Number(value);
      if (!Number.isInteger(s) || s < 0 || s > 2 ** 31 - 1) throw bad('an integer 0..2^31-1');
      ref.seed = s;
      return;
    }
    case 'skip-bad':
      if (value !== '' && value !== '1' && value !== 'true') throw bad('skip-bad or skip-bad=1');
      ref.skipBad = true;
      return;
    default:
      throw new Error(`'${text}': unknown option '${key}'; expected size, channels, test, seed or skip-bad`);
  }
}

/** The canonical text of a reference: the same images and split always give the same text. */
export function formatDatasetRef(ref: DatasetRef): string {
  if (ref.kind === 'registered') return ref.name;
  const q: string[] = [];
  if (ref.size) q.push(`size=${ref.size[0]}x${ref.size[1]}`);
  if (ref.channels) q.push(`channels=${ref.channels}`);
  if (ref.test !== DEFAULT_TEST_SHARE) q.push(`test=${ref.test}`);
  if (ref.seed !== 1) q.push(`seed=${ref.seed}`);
  if (ref.skipBad) q.push('skip-bad=1');
  return `${FOLDER_PREFIX}${ref.dir}${q.length ? `?${q.join('&')}` : ''}`;
}

/** `--data` as every stage records it: canonical, with `--skip-bad` folded in. */
export function canonicalData(text: string, o: { skipBad?: boolean } = {}): string {
  const ref = parseDatasetRef(text);
  if (o.skipBad) {
    if (ref.kind === 'registered') throw new Error(`--skip-bad applies to image folders, not to the registered dataset ${ref.name}`);
    ref.skipBad = true;
  }
  return formatDatasetRef(ref);
}

/** True for text `parseDatasetRef` accepts (for schemas that report their own message). */
export function isDatasetRef(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    parseDatasetRef(text);
    return true;
  } catch {
    return false;
  }
}

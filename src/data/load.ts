// Loads a dataset into uint8 HWC arrays: a registered one from its default location or
// --data-dir (checking shapes, counts and labels), or an image folder (`folder:<dir>`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readCifarFiles, type LabeledImages } from './cifar.js';
import { datasetInfo, type DatasetInfo } from './datasets.js';
import { parseDatasetRef } from './dataset-ref.js';
import { loadImageFolder } from './folder.js';
import { readIdxFile } from './idx.js';
import { OptionError, opt } from '../util/option-error.js';

export interface Dataset {
  info: DatasetInfo;
  train: LabeledImages;
  test: LabeledImages;
  /** Where the files came from. */
  dir: string;
  /** Image folders: images left out by skip-bad, with the reason. */
  skipped?: { file: string; reason: string }[];
  /** Image folders: where the decoded images are cached (null when nowhere was writable). */
  cacheFile?: string | null;
  /** Things a user should know about this load (a rebuilt cache, ignored files). */
  notes?: string[];
}

export interface LoadOptions {
  dataDir?: string;
}

/** Path of `base` in dir, accepting the raw file or its .gz. */
function findIdx(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`missing ${base}[.gz] in ${dir}`);
}

function loadIdxSplit(dir: string, prefix: 'train' | 't10k', info: DatasetInfo): LabeledImages {
  const imgPath = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labPath = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  const img = readIdxFile(imgPath),
    lab = readIdxFile(labPath);
  const [h, w] = info.shape;
  if (img.dims.length !== 3 || img.dims[1] !== h || img.dims[2] !== w)
    throw new Error(`${imgPath}: images have dims [${img.dims}], expected [count, ${h}, ${w}]`);
  if (lab.dims.length !== 1) throw new Error(`${labPath}: labels have dims [${lab.dims}], expected [count]`);
  if (img.dims[0] !== lab.dims[0]) throw new Error(`${imgPath} has ${img.dims[0]} images but ${labPath} has ${lab.dims[0]} labels`);
  for (let i = 0; i < lab.data.length; i++)
    if (lab.data[i] >= info.numClasses) throw new Error(`${labPath}: label ${lab.data[i]} at ${i} (expected 0..${info.numClasses - 1})`);
  return { images: img.data, labels: lab.data, count: img.dims[0] };
}

function cifarDir(dir: string): string {
  const nested = path.join(dir, 'cifar-10-batches-bin');
  return existsSync(path.join(nested, 'test_batch.bin')) ? nested : dir;
}

/** Loads `name`: a registered dataset or `folder:<dir>[?options]` (see dataset-ref.ts). */
export async function loadDataset(name: string, opts: LoadOptions = {}): Promise<Dataset> {
  const ref = parseDatasetRef(name);
  if (ref.kind === 'folder') {
    if (opts.dataDir) throw new OptionError(`${opt('dataDir')} applies to registered datasets; ${name} names its folder itself`);
    return loadImageFolder(ref);
  }
  const info = datasetInfo(name);
  const dir = opts.dataDir ?? info.defaultDir();
  if (!dir) throw new OptionError(`dataset '${name}' needs ${opt('dataDir')} (${info.sourceNote})`);
  if (!existsSync(dir)) throw new Error(`data directory ${dir} does not exist (${info.sourceNote})`);
  if (info.name === 'cifar10') {
    const d = cifarDir(dir);
    const trainFiles = [1, 2, 3, 4, 5].map((i) => path.join(d, `data_batch_${i}.bin`));
    const testFiles = [path.join(d, 'test_batch.bin')];
    for (const f of [...trainFiles, ...testFiles])
      if (!existsSync(f)) throw new Error(`missing ${path.basename(f)} in ${d} (CIFAR-10 binary version expected)`);
    return { info, train: readCifarFiles(trainFiles), test: readCifarFiles(testFiles), dir: d };
  }
  return { info, train: loadIdxSplit(dir, 'train', info), test: loadIdxSplit(dir, 't10k', info), dir };
}

/** The first n examples of a split (for quick runs and tests). */
export function limitSplit(s: LabeledImages, n: number | undefined): LabeledImages {
  if (n === undefined || n >= s.count) return s;
  if (!Number.isInteger(n) || n < 1) throw new Error(`limit must be a positive integer, got ${n}`);
  const per = s.images.length / s.count;
  return { images: s.images.subarray(0, n * per), labels: s.labels.subarray(0, n), count: n };
}

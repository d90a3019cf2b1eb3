// `lowbit import`: a float model from another framework (an ONNX file, or a tfjs layers model.json as
// converted from Keras) as the full-precision run every later stage reads (quantize, search, pack,
// simulate, export): its checkpoint, bound to the dataset it is for, with the source files' sha256
// and the imported model's test accuracy on that dataset.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { canonicalData } from '../data/dataset-ref.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { dataSpecOf } from '../data/model-data.js';
import { importOnnx } from '../import/onnx.js';
import { importTfjsLayers } from '../import/keras.js';
import type { tf } from '../engine/tf.js';
import { READ_LIMITS, readInputFile } from '../util/read.js';
import { OptionError, opt } from '../util/option-error.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { saveCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { CHECKPOINT_FILE, openRunDir } from './run-dir.js';

export interface ImportRunOptions {
  /** The model file: .onnx, or a tfjs layers model.json (its weight files beside it). */
  file: string;
  outDir: string;
  /** The dataset the model was trained for (its images must have the model's input shape). */
  data: string;
  dataDir?: string;
  foldBatchNorm?: boolean;
  force?: boolean;
  limitTest?: number;
  /** A dataset already loaded (tests, the library). */
  dataset?: Dataset;
}

export interface ImportRunResult {
  checkpoint: string;
  source: { file: string; sha256: string; format: 'onnx' | 'tfjs'; opset?: number };
  inputShape: [number, number, number];
  numClasses: number;
  layers: number;
  /** ONNX: batch norms and constant adds folded away. */
  folded: { batchNorm: number; bias: number };
  /** What changed on the way in (a dropped softmax, split layers). */
  notes: string[];
  testAccuracy: number;
}

interface Imported {
  model: tf.LayersModel;
  inputShape: [number, number, number];
  numClasses: number;
  folded: { batchNorm: number; bias: number };
  notes: string[];
  format: 'onnx' | 'tfjs';
  opset?: number;
  /** sha256 over the model file (and its weight files, in order). */
  sha256: string;
}

/** A tfjs model.json and its weight files: paths relative to it, never leaving its directory. */
async function readTfjs(file: string): Promise<Imported> {
  const text = readInputFile(file, 'tfjs model', { maxBytes: READ_LIMITS.json });
  let json: { weightsManifest?: { paths?: unknown }[] };
  try {
    json = JSON.parse(text.toString('utf8')) as typeof json;
  } catch (e) {
    throw new OptionError(`${file} is not JSON (${(e as Error).message})`);
  }
  const dir = path.dirname(path.resolve(file));
  const hash = createHash('sha256').update(text);
  const parts: Buffer[] = [];
  for (const g of Array.isArray(json?.weightsManifest) ? json.weightsManifest : []) {
    for (const p of Array.isArray(g?.paths) ? g.paths : []) {
      const f = path.resolve(dir, String(p));
      if (typeof p !== 'string' || path.isAbsolute(p) || path.relative(dir, f).startsWith('..'))
        throw new OptionError(`${file}: weight file ${JSON.stringify(p)} is not a path beside the model.json`);
      const b = readInputFile(f, 'weight file', { maxBytes: READ_LIMITS.checkpoint });
      hash.update(b);
      parts.push(b);
    }
  }
  const all = Buffer.concat(parts);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const r = await importTfjsLayers(json, data, { file });
  return { ...r, folded: { batchNorm: 0, bias: 0 }, format: 'tfjs', sha256: hash.digest('hex') };
}

function readOnnxModel(file: string, foldBatchNorm: boolean): Imported {
  const bytes = readInputFile(file, 'ONNX model', { maxBytes: READ_LIMITS.checkpoint });
  const r = importOnnx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { file, foldBatchNorm });
  return { ...r, format: 'onnx', sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A model file as a tfjs model: .onnx (ONNX import) or .json (a tfjs layers model); `fold` folds an ONNX file's batch norms. */
export async function importModelFile(file: string, fold = false): Promise<Imported> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.onnx' && ext !== '.json') throw new OptionError(`${file}: expected an .onnx file or a tfjs model.json`);
  return ext === '.onnx' ? readOnnxModel(file, fold) : readTfjs(file);
}

/** Whether a model option names a file to import rather than a zoo model. */
export const isModelFile = (model: string): boolean => /\.(onnx|json)$/i.test(model);

/** Refuses a model whose input or class count does not fit the dataset, in one line. */
export function checkFits(
  file: string,
  m: { inputShape: number[]; numClasses: number },
  data: string,
  info: { shape: number[]; numClasses: number },
): void {
  const [h, w, c] = m.inputShape;
  if (info.shape.join() !== m.inputShape.join())
    throw new OptionError(`${file} takes ${h}×${w}×${c} images (height × width × channels); ${data} has ${info.shape.join('×')}`);
  if (info.numClasses !== m.numClasses) throw new OptionError(`${file} predicts ${m.numClasses} classes; ${data} has ${info.numClasses}`);
}

export async function importRun(o: ImportRunOptions): Promise<ImportRunResult> {
  let data: string;
  try {
    data = canonicalData(o.data);
  } catch (e) {
    throw new OptionError(`${opt('data')}: ${(e as Error).message}`);
  }
  if (path.extname(o.file).toLowerCase() === '.json' && o.foldBatchNorm)
    throw new OptionError(`${opt('foldBatchNorm')} applies to ONNX files (quantize --bn fold folds a tfjs model's batch norms)`);
  const imported = await importModelFile(o.file, Boolean(o.foldBatchNorm));
  const ds = o.dataset ?? (await loadDataset(data, o.dataDir ? { dataDir: o.dataDir } : {}));
  checkFits(o.file, imported, data, ds.info);
  const run = openRunDir({ outDir: o.outDir, command: 'import', ...(o.force ? { force: true } : {}) });
  let failed = true;
  try {
    const source = {
      file: path.basename(o.file),
      sha256: imported.sha256,
      format: imported.format,
      ...(imported.opset !== undefined ? { opset: imported.opset } : {}),
    };
    const testAccuracy = evaluate(imported.model, limitSplit(ds.test, o.limitTest), ds.info).accuracy;
    const config = {
      file: o.file,
      data,
      foldBatchNorm: Boolean(o.foldBatchNorm),
      ...(o.limitTest ? { limitTest: o.limitTest } : {}),
    };
    const checkpoint = path.join(o.outDir, CHECKPOINT_FILE);
    saveCheckpoint(checkpoint, {
      model: imported.model,
      modelSpec: { imported: source, inputShape: ds.info.shape, numClasses: ds.info.numClasses, ...dataSpecOf(ds.info) },
      state: { config, source, folded: imported.folded, notes: imported.notes, finalAccuracy: testAccuracy, finished: true },
    });
    writeJsonAtomic(path.join(o.outDir, 'config.json'), config);
    writeJsonAtomic(path.join(o.outDir, 'metrics.json'), { config, finished: true, testAccuracy });
    failed = false;
    return {
      checkpoint,
      source,
      inputShape: imported.inputShape,
      numClasses: imported.numClasses,
      layers: imported.model.layers.length - 1,
      folded: imported.folded,
      notes: imported.notes,
      testAccuracy,
    };
  } finally {
    run.close(failed);
  }
}

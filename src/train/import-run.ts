// `lowbit import`: a float model from another framework as the full-precision run every later stage
// reads (quantize, search, pack, simulate, export): its checkpoint, bound to the dataset it is for,
// with the source file's sha256 and the imported model's test accuracy on that dataset.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { datasetNames } from '../data/datasets.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { importOnnx, type ImportedModel } from '../import/onnx.js';
import { READ_LIMITS, readInputFile } from '../util/read.js';
import { OptionError, opt } from '../util/option-error.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { saveCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { CHECKPOINT_FILE, openRunDir } from './run-dir.js';

export interface ImportRunOptions {
  /** The model file: .onnx. */
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
  source: { file: string; sha256: string; format: 'onnx'; opset: number };
  inputShape: [number, number, number];
  numClasses: number;
  layers: number;
  folded: ImportedModel['folded'];
  testAccuracy: number;
}

export async function importRun(o: ImportRunOptions): Promise<ImportRunResult> {
  if (!datasetNames.includes(o.data as never))
    throw new OptionError(`${opt('data')}: unknown dataset '${o.data}'; expected one of: ${datasetNames.join(', ')}`);
  if (path.extname(o.file).toLowerCase() !== '.onnx') throw new OptionError(`${o.file}: expected an .onnx file`);
  const bytes = readInputFile(o.file, 'ONNX model', { maxBytes: READ_LIMITS.checkpoint });
  const imported = importOnnx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    file: o.file,
    foldBatchNorm: Boolean(o.foldBatchNorm),
  });
  const ds = o.dataset ?? loadDataset(o.data, o.dataDir ? { dataDir: o.dataDir } : {});
  const [h, w, c] = imported.inputShape;
  if (ds.info.shape.join() !== imported.inputShape.join())
    throw new OptionError(`${o.file} takes ${h}×${w}×${c} images (height × width × channels); ${o.data} has ${ds.info.shape.join('×')}`);
  if (ds.info.numClasses !== imported.numClasses)
    throw new OptionError(`${o.file} predicts ${imported.numClasses} classes; ${o.data} has ${ds.info.numClasses}`);
  const run = openRunDir({ outDir: o.outDir, command: 'import', ...(o.force ? { force: true } : {}) });
  let failed = true;
  try {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const source = { file: path.basename(o.file), sha256, format: 'onnx' as const, opset: imported.opset };
    const testAccuracy = evaluate(imported.model, limitSplit(ds.test, o.limitTest), ds.info).accuracy;
    const config = {
      file: o.file,
      data: o.data,
      foldBatchNorm: Boolean(o.foldBatchNorm),
      ...(o.limitTest ? { limitTest: o.limitTest } : {}),
    };
    const checkpoint = path.join(o.outDir, CHECKPOINT_FILE);
    saveCheckpoint(checkpoint, {
      model: imported.model,
      modelSpec: { imported: source, inputShape: ds.info.shape, numClasses: ds.info.numClasses, dataset: o.data },
      state: { config, source, folded: imported.folded, finalAccuracy: testAccuracy, finished: true },
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
      testAccuracy,
    };
  } finally {
    run.close(failed);
  }
}

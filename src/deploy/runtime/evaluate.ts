// A packed model on a dataset's test split with the integer runtime: accuracy and throughput,
// and (compare) how closely it follows the training simulation — the packed model rebuilt as a
// tfjs model with float fake quantization — on the same images. Used by `lowbit run` and the
// deployment benchmark.
import { makeBatch, normalizationTable } from '../../data/batches.js';
import { limitSplit, loadDataset } from '../../data/load.js';
import { isRegisteredDataset } from '../../data/datasets.js';
import { fitTo, trainedInputOfPacked } from '../../data/model-data.js';
import { tf } from '../../engine/tf.js';
import { activeAddon } from '../../engine/addon-state.js';
import { toLayersModel } from '../to-layers.js';
import { agreement, type Agreement } from './agreement.js';
import type { LowbitModel } from './model.js';
import { OptionError, opt } from '../../util/option-error.js';

export interface EvaluateOptions {
  /** Dataset name; default: the one the manifest names. */
  data?: string;
  dataDir?: string;
  limit?: number;
  batch?: number;
  compare?: boolean;
}

export interface Evaluation {
  data: string;
  images: number;
  accuracy: number;
  /** Images per second of the runtime alone (batching and the simulation are not timed). */
  imagesPerSecond: number;
  kernels: 'native kernels' | 'TypeScript path';
  vsSimulation?: Agreement;
}

export async function evaluatePacked(model: LowbitModel, o: EvaluateOptions = {}): Promise<Evaluation> {
  const m = model.packed.manifest;
  const spec = m.modelSpec.dataset;
  const input = trainedInputOfPacked(m.input);
  const trained = input?.dataset ?? (typeof spec === 'string' ? spec : undefined);
  // Two datasets of one shape (MNIST and Fashion-MNIST) would run without an error and score 10%.
  // An image folder may have moved: it is accepted when its classes are the trained ones (fitTo).
  if (o.data && trained && isRegisteredDataset(o.data) && o.data !== trained)
    throw new OptionError(
      `the model was trained on ${trained}; ${opt('data')} ${o.data} is another dataset (omit ${opt('data')} to use ${trained})`,
    );
  const name = o.data ?? trained;
  if (!name) throw new Error('the dataset is required: the model does not say which one it was trained on');
  const loaded = await loadDataset(name, o.dataDir ? { dataDir: o.dataDir } : {});
  // The model normalises its inputs as it was trained, whatever the folder's statistics are now.
  const ds = input ? fitTo(loaded, input, 'the model') : loaded;
  if (ds.info.shape.join() !== model.inputShape.join())
    throw new Error(`the model takes [${model.inputShape.join(', ')}] images, ${name} has [${ds.info.shape.join(', ')}]`);
  const test = limitSplit(ds.test, o.limit);
  const lut = normalizationTable(ds.info);
  const batch = o.batch ?? 64;
  const K = ds.info.numClasses;
  const sim = o.compare ? await toLayersModel(model.packed) : null;
  const runtimeLogits: Float32Array[] = [],
    simLogits: Float32Array[] = [],
    labels: number[] = [];
  let correct = 0,
    seconds = 0;
  try {
    for (let start = 0; start < test.count; start += batch) {
      const n = Math.min(batch, test.count - start);
      const { x, y } = makeBatch(
        test,
        ds.info,
        Uint32Array.from({ length: n }, (_, i) => start + i),
        lut,
      );
      const input = Float32Array.from(x.dataSync() as Float32Array);
      const ys = Array.from(y.dataSync(), Number);
      if (sim) simLogits.push(tf.tidy(() => (sim.predict(x) as tf.Tensor).dataSync() as Float32Array));
      x.dispose();
      y.dispose();
      const t0 = performance.now();
      const logits = model.predict(input, n);
      seconds += (performance.now() - t0) / 1000;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + best]) best = k;
        if (best === ys[i]) correct++;
      }
      if (sim) (runtimeLogits.push(logits), labels.push(...ys));
    }
  } finally {
    sim?.dispose();
  }
  return {
    data: name,
    images: test.count,
    accuracy: correct / test.count,
    imagesPerSecond: test.count / seconds,
    kernels: activeAddon() ? 'native kernels' : 'TypeScript path',
    ...(sim ? { vsSimulation: agreement(runtimeLogits, simLogits, K, labels) } : {}),
  };
}

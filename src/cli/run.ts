// `lowbit run --model model.lowbit --data mnist`: the packed model on a test set with the
// integer runtime — accuracy and throughput.
import { Command } from 'commander';
import { makeBatch, normalizationTable } from '../data/batches.js';
import { datasetNames } from '../data/datasets.js';
import { limitSplit, loadDataset } from '../data/load.js';
import { loadLowbit, type LowbitModel } from '../deploy/runtime/model.js';
import { readInputFile } from '../util/read.js';
import { oneOf, positiveInt } from './options.js';

export function runCommand(): Command {
  return new Command('run')
    .description('run a packed .lowbit model with the integer runtime on a test set: accuracy and images/s')
    .requiredOption('--model <file>', 'packed model (.lowbit)')
    .option('--data <name>', `dataset (${datasetNames.join(', ')}); default: the one the model was trained on`, oneOf(datasetNames))
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option('--limit <n>', 'first n test images', positiveInt)
    .option('--batch <n>', 'images per batch', positiveInt, 64)
    .option('--json', 'print the result as JSON')
    .action((f: { model: string; data?: string; dataDir?: string; limit?: number; batch: number; json?: boolean }) => {
      const bytes = new Uint8Array(readInputFile(f.model, 'packed model'));
      let model: LowbitModel;
      try {
        model = loadLowbit(bytes);
      } catch (e) {
        throw new Error(`${f.model}: ${(e as Error).message}`);
      }
      const trained = model.packed.manifest.modelSpec.dataset;
      const name = f.data ?? (typeof trained === 'string' ? trained : undefined);
      if (!name) throw new Error(`--data is required: ${f.model} does not say which dataset it was trained on`);
      const ds = loadDataset(name, f.dataDir ? { dataDir: f.dataDir } : {});
      const shape = ds.info.shape;
      if (shape.join() !== model.inputShape.join())
        throw new Error(`${f.model} takes [${model.inputShape.join(', ')}] images, ${name} has [${shape.join(', ')}]`);
      const test = limitSplit(ds.test, f.limit);
      const lut = normalizationTable(ds.info);
      let correct = 0,
        seconds = 0;
      const K = ds.info.numClasses;
      for (let start = 0; start < test.count; start += f.batch) {
        const n = Math.min(f.batch, test.count - start);
        const { x, y } = makeBatch(
          test,
          ds.info,
          Uint32Array.from({ length: n }, (_, i) => start + i),
          lut,
        );
        const input = Float32Array.from(x.dataSync() as Float32Array);
        const labels = y.dataSync();
        x.dispose();
        y.dispose();
        const t0 = performance.now();
        const logits = model.predict(input, n);
        seconds += (performance.now() - t0) / 1000;
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + best]) best = k;
          if (best === labels[i]) correct++;
        }
      }
      const r = { model: f.model, data: name, images: test.count, accuracy: correct / test.count, imagesPerSecond: test.count / seconds };
      if (f.json) console.log(JSON.stringify(r));
      else
        console.log(
          `${f.model} on ${name}: accuracy ${(100 * r.accuracy).toFixed(2)}% over ${r.images} images, ${r.imagesPerSecond.toFixed(0)} images/s (integer runtime, TypeScript path)`,
        );
    });
}

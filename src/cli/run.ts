// `lowbit run --model model.lowbit --data mnist`: the packed model on a test set with the
// integer runtime — accuracy and throughput; with --compare, also how closely it follows the
// training simulation (the packed model rebuilt as a tfjs model, float fake quantization).
import { Command } from 'commander';
import { loadLowbit, type LowbitModel } from '../deploy/runtime/model.js';
import { evaluatePacked } from '../deploy/runtime/evaluate.js';
import { initEngine } from '../engine/setup.js';
import { readPackedFile } from '../deploy/read-file.js';
import { dataOption, positiveInt } from './options.js';
import { cliMessage } from './flag-names.js';

export function runCommand(): Command {
  return new Command('run')
    .description('run a packed .lowbit model with the integer runtime on a test set: accuracy and images/s')
    .requiredOption('--model <file>', 'packed model (.lowbit)')
    .addOption(dataOption('test set (default: the one the model was trained on)'))
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option('--limit <n>', 'first n test images', positiveInt)
    .option('--batch <n>', 'images per batch', positiveInt, 64)
    .option('--compare', 'also run the training simulation and report top-1 agreement and logit differences')
    .option('--json', 'print the result as JSON')
    .action(
      async (f: { model: string; data?: string; dataDir?: string; limit?: number; batch: number; compare?: boolean; json?: boolean }) => {
        // The native kernels when the addon is built (the TypeScript path otherwise).
        await initEngine({ quiet: true });
        const bytes = readPackedFile(f.model);
        let model: LowbitModel;
        try {
          model = loadLowbit(bytes);
        } catch (e) {
          throw new Error(`${f.model}: ${cliMessage(e as Error)}`);
        }
        let r;
        try {
          r = await evaluatePacked(model, f);
        } catch (e) {
          throw new Error(`${f.model}: ${cliMessage(e as Error)}`);
        }
        if (f.json) {
          console.log(JSON.stringify({ model: f.model, ...r }));
          return;
        }
        console.log(
          `${f.model} on ${r.data}: accuracy ${(100 * r.accuracy).toFixed(2)}% over ${r.images} images, ${r.imagesPerSecond.toFixed(0)} images/s (integer runtime, ${r.kernels})`,
        );
        const v = r.vsSimulation;
        if (v)
          console.log(
            `vs the training simulation: same top-1 on ${(100 * v.top1Agreement).toFixed(2)}% of images (simulation accuracy ${(100 * v.simulationAccuracy).toFixed(2)}%), ` +
              `logits within one output step on ${(100 * v.withinOneStep).toFixed(2)}% (largest difference ${v.maxSteps.toFixed(2)} steps of ${v.step.toPrecision(3)})`,
          );
      },
    );
}

// `lowbit import model.onnx|model.json --data <name> --out run/`: a float ONNX model (from PyTorch's
// torch.onnx.export, say) or a tfjs layers model (Keras through tensorflowjs_converter) as a
// full-precision run that quantize, search, pack and export read.
import { Command, Option } from 'commander';
import { initEngine } from '../engine/setup.js';
import { importRun } from '../train/import-run.js';
import { dataOption, positiveInt, skipBadOption } from './options.js';
import { canonicalData } from '../data/dataset-ref.js';

interface ImportFlags {
  data: string;
  skipBad?: boolean;
  dataDir?: string;
  out: string;
  foldBn?: boolean;
  force?: boolean;
  limitTest?: number;
  json?: boolean;
}

export function importCommand(): Command {
  return new Command('import')
    .description(
      'import a float ONNX model (Conv, BatchNormalization, Relu, Clip, pools, Gemm, MatMul, Add, Concat, ...) as a full-precision run',
    )
    .argument('<model>', 'the .onnx file (weights inside it)')
    .addOption(dataOption('the dataset the model was trained for').makeOptionMandatory())
    .addOption(skipBadOption())
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .requiredOption('--out <dir>', 'run directory (checkpoint.lbck, metrics.json, config.json)')
    .option('--fold-bn', 'ONNX: fold each batch norm into the conv or dense layer before it')
    .option('--limit-test <n>', 'measure the imported model on the first n test images', positiveInt)
    .option('--force', 'replace a run already in <out>')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, f: ImportFlags) => {
      await initEngine({ quiet: true });
      const r = await importRun({
        file,
        outDir: f.out,
        data: canonicalData(f.data, { skipBad: f.skipBad }),
        ...(f.dataDir ? { dataDir: f.dataDir } : {}),
        ...(f.foldBn ? { foldBatchNorm: true } : {}),
        ...(f.force ? { force: true } : {}),
        ...(f.limitTest ? { limitTest: f.limitTest } : {}),
      });
      if (f.json) return void console.log(JSON.stringify(r));
      const folded =
        r.folded.batchNorm || r.folded.bias ? ` (folded: ${r.folded.batchNorm} batch norms, ${r.folded.bias} constant adds)` : '';
      console.log(
        [
          `${r.checkpoint}: ${r.source.file} (${r.source.opset ? `ONNX opset ${r.source.opset}` : 'tfjs layers'}, sha256 ${r.source.sha256.slice(0, 12)}…) as ${r.layers} layers${folded}`,
          `  input ${r.inputShape.join('×')}, ${r.numClasses} classes; test accuracy on ${f.data}: ${(100 * r.testAccuracy).toFixed(2)}%`,
          ...r.notes.map((n) => `  note: ${n}`),
        ].join('\n'),
      );
    });
}

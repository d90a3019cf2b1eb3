// `lowbit export --model model.lowbit --format onnx --out model.onnx`: a packed model (or a
// quantized checkpoint, packed on the way) as an ONNX QDQ graph.
import { existsSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import path from 'node:path';
import { exportOnnx } from '../deploy/onnx/export.js';
import { exportTfjs } from '../deploy/tfjs-export.js';
import { packCheckpoint } from '../deploy/pack-checkpoint.js';
import { readPacked, type PackedModel } from '../deploy/read.js';
import { loadRunCheckpoint } from '../train/load-run.js';
import { checkOutputFile, checkWritableDir } from '../util/output.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readPackedFile } from '../deploy/read-file.js';
import { oneOf, positiveInt } from './options.js';
import { exportWeb, type WebSample } from '../deploy/web-export.js';
import { loadDataset } from '../data/load.js';
import { fitTo, trainedInputOfPacked } from '../data/model-data.js';
import type { Manifest } from '../deploy/manifest.js';
import { cliMessage } from './flag-names.js';

/** A .lowbit file, or a checkpoint / run directory packed on the fly (an unfinished run only when allowed). */
export async function packedFrom(
  path: string,
  allowPartial = false,
): Promise<{ packed: PackedModel; bytes: Uint8Array; partial: string | null }> {
  if (existsSync(path) && statSync(path).isFile() && path.endsWith('.lowbit')) {
    const bytes = readPackedFile(path);
    try {
      return { packed: readPacked(bytes), bytes, partial: null };
    } catch (e) {
      throw new Error(`${path}: ${cliMessage(e as Error)}`);
    }
  }
  await initEngine({ quiet: true });
  const { ck, partial } = await loadRunCheckpoint(path, '--model', allowPartial);
  const bytes = packCheckpoint(ck).bytes;
  return { packed: readPacked(bytes), bytes, partial };
}

interface ExportFlags {
  model: string;
  out: string;
  format: string;
  plain?: boolean;
  allowPartial?: boolean;
  samples?: number;
  dataDir?: string;
}

/** The first test images of the model's dataset, when it can be read here (none otherwise, with a note). */
async function testSamples(m: Manifest, n: number, dataDir?: string): Promise<{ samples: WebSample[]; classNames: string[] }> {
  const trained = trainedInputOfPacked(m.input);
  if (!trained) return { samples: [], classNames: [] };
  try {
    const ds = fitTo(await loadDataset(trained.dataset, dataDir ? { dataDir } : {}), trained, 'the model');
    const size = ds.info.shape.reduce((a, b) => a * b, 1);
    const count = Math.min(n, ds.test.count);
    const samples = Array.from({ length: count }, (_, i) => ({
      label: ds.test.labels[i],
      pixels: ds.test.images.slice(i * size, (i + 1) * size),
    }));
    return { samples, classNames: ds.info.classNames };
  } catch (e) {
    process.stderr.write(`note: no test images embedded (${cliMessage(e as Error)})\n`);
    return { samples: [], classNames: trained.classNames };
  }
}

async function exportWebFolder(f: ExportFlags): Promise<void> {
  checkWritableDir(f.out, '--out');
  // The exact bytes the runtime reads: a .lowbit file as it is, a checkpoint packed once.
  const { packed: p, bytes, partial } = await packedFrom(f.model, Boolean(f.allowPartial));
  if (partial) process.stderr.write(`note: ${partial}\n`);
  const { samples, classNames } = await testSamples(p.manifest, f.samples ?? 8, f.dataDir);
  const files = exportWeb(bytes, p.manifest, f.out, { samples, classNames });
  const size = files.reduce((s, file) => s + statSync(file).size, 0);
  console.log(
    `${path.join(f.out, 'index.html')}: a static page running the model ` +
      `(${files.length} files, ${(size / 1024).toFixed(1)} KB, ${samples.length} test images); open it from disk or any static host`,
  );
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a packed model (or quantized checkpoint) to ONNX (QDQ) or TensorFlow.js (model.json + weights)')
    .requiredOption('--model <path>', 'packed model (.lowbit), quantized checkpoint or run directory')
    .requiredOption('--out <path>', 'output file (onnx) or directory (tfjs, web)')
    .option(
      '--format <name>',
      'onnx, tfjs, or web (a static page running the model in the browser)',
      oneOf(['onnx', 'tfjs', 'web']),
      'onnx',
    )
    .option('--samples <n>', 'web: test images to embed, from the dataset the model was trained on (default 8)', positiveInt)
    .option('--data-dir <dir>', 'web: directory holding that dataset, for the embedded test images')
    .option('--plain', 'tfjs: stock tfjs layers only (quantized weights, float activations)')
    .option('--allow-partial', 'export an unfinished run (and say so)')
    .action(async (f: ExportFlags) => {
      if (f.plain && f.format !== 'tfjs') throw new Error('--plain applies to --format tfjs only');
      for (const [given, flag] of [
        [f.samples, '--samples'],
        [f.dataDir, '--data-dir'],
      ] as const)
        if (given !== undefined && f.format !== 'web') throw new Error(`${flag} applies to --format web only`);
      if (f.format === 'web') return exportWebFolder(f);
      if (f.format === 'tfjs') checkWritableDir(f.out, '--out');
      else checkOutputFile(f.out, '--out');
      const { packed: p, partial } = await packedFrom(f.model, Boolean(f.allowPartial));
      if (partial) process.stderr.write(`note: ${partial}\n`);
      if (f.format === 'tfjs') {
        const a = await exportTfjs(p, { plain: Boolean(f.plain) });
        writeFileAtomic(path.join(f.out, a.weightsFile), a.weightData);
        writeFileAtomic(path.join(f.out, 'model.json'), JSON.stringify(a.modelJson));
        console.log(
          `${path.join(f.out, 'model.json')}: TensorFlow.js layers model` +
            `${f.plain ? ' (stock layers, float activations)' : " (load after `import 'lowbit'`)"}, weights ${(a.weightData.length / 1024).toFixed(1)} KB`,
        );
        return;
      }
      const ex = exportOnnx(p);
      writeFileAtomic(f.out, ex.bytes);
      console.log(`${f.out}: ONNX opset ${ex.opset}, ${(ex.bytes.length / 1024).toFixed(1)} KB`);
      for (const n of ex.notes) console.log(`  note: ${n}`);
    });
}

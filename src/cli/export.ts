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
import { oneOf } from './options.js';
import { cliMessage } from './flag-names.js';

/** A .lowbit file, or a checkpoint / run directory packed on the fly (an unfinished run only when allowed). */
export async function packedFrom(path: string, allowPartial = false): Promise<{ packed: PackedModel; partial: string | null }> {
  if (existsSync(path) && statSync(path).isFile() && path.endsWith('.lowbit')) {
    try {
      return { packed: readPacked(readPackedFile(path)), partial: null };
    } catch (e) {
      throw new Error(`${path}: ${cliMessage(e as Error)}`);
    }
  }
  await initEngine({ quiet: true });
  const { ck, partial } = await loadRunCheckpoint(path, '--model', allowPartial);
  return { packed: readPacked(packCheckpoint(ck).bytes), partial };
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a packed model (or quantized checkpoint) to ONNX (QDQ) or TensorFlow.js (model.json + weights)')
    .requiredOption('--model <path>', 'packed model (.lowbit), quantized checkpoint or run directory')
    .requiredOption('--out <path>', 'output file (onnx) or directory (tfjs)')
    .option('--format <name>', 'onnx or tfjs', oneOf(['onnx', 'tfjs']), 'onnx')
    .option('--plain', 'tfjs: stock tfjs layers only (quantized weights, float activations)')
    .option('--allow-partial', 'export an unfinished run (and say so)')
    .action(async (f: { model: string; out: string; format: string; plain?: boolean; allowPartial?: boolean }) => {
      if (f.plain && f.format !== 'tfjs') throw new Error('--plain applies to --format tfjs only');
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

// `lowbit export --model model.lowbit --format onnx --out model.onnx`: a packed model (or a
// quantized checkpoint, packed on the way) as an ONNX QDQ graph.
import { existsSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import { exportOnnx } from '../deploy/onnx/export.js';
import { packModel } from '../deploy/pack.js';
import { readPacked, type PackedModel } from '../deploy/read.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { resolveCheckpoint } from '../train/quantize.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readInputFile } from '../util/read.js';
import { oneOf } from './options.js';

/** A .lowbit file, or a checkpoint / run directory packed on the fly. */
export async function packedFrom(path: string): Promise<PackedModel> {
  if (existsSync(path) && statSync(path).isFile() && path.endsWith('.lowbit')) {
    try {
      return readPacked(new Uint8Array(readInputFile(path, 'packed model')));
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
  }
  await initEngine({ quiet: true });
  const ck = await loadCheckpoint(resolveCheckpoint(path));
  return readPacked(packModel(ck.model, ck.modelSpec).bytes);
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a packed model (or quantized checkpoint) to ONNX (QDQ)')
    .requiredOption('--model <path>', 'packed model (.lowbit), quantized checkpoint or run directory')
    .requiredOption('--out <file>', 'output file')
    .option('--format <name>', 'onnx', oneOf(['onnx']), 'onnx')
    .action(async (f: { model: string; out: string; format: string }) => {
      const p = await packedFrom(f.model);
      const ex = exportOnnx(p);
      writeFileAtomic(f.out, ex.bytes);
      console.log(`${f.out}: ONNX opset ${ex.opset}, ${(ex.bytes.length / 1024).toFixed(1)} KB`);
      for (const n of ex.notes) console.log(`  note: ${n}`);
    });
}

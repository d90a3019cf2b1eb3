// `lowbit pack --model q/ --out model.lowbit`: the quantized checkpoint as a packed file, with its
// size, bits per weight and compression against FP32 and INT8 copies of the same model.
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import { packCheckpoint } from '../deploy/pack-checkpoint.js';
import { readPacked } from '../deploy/read.js';
import { loadRunCheckpoint } from '../train/load-run.js';
import { writeFileAtomic } from '../util/atomic.js';
import { lockDirectory } from '../util/lock.js';
import { checkOutputFile } from '../util/output.js';

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

export function packCommand(): Command {
  return new Command('pack')
    .description('pack a quantized checkpoint into a .lowbit file (bit-packed codes, CRC-checked sections)')
    .requiredOption('--model <path>', 'quantized checkpoint (.lbck) or run directory')
    .requiredOption('--out <file>', 'the .lowbit file to write')
    .option('--allow-partial', 'pack an unfinished run (and say so)')
    .option('--json', 'print the report as JSON')
    .action(async (f: { model: string; out: string; allowPartial?: boolean; json?: boolean }) => {
      const dir = checkOutputFile(f.out, '--out');
      // One writer per directory: pack waits for no one, and refuses while a run writes there.
      const lock = lockDirectory(dir, 'pack');
      try {
        await initEngine({ quiet: true });
        const { ck, partial } = await loadRunCheckpoint(f.model, '--model', Boolean(f.allowPartial));
        const { bytes, report } = packCheckpoint(ck);
        // Read back before writing: a file the loader would refuse is never left behind.
        readPacked(bytes);
        writeFileAtomic(f.out, bytes);
        if (partial) process.stderr.write(`note: ${partial}\n`);
        if (f.json) return void console.log(JSON.stringify({ file: f.out, partial, ...report }));
        console.log(
          [
            `${f.out}: ${kb(report.bytes)} (${report.bytes} bytes: tensors ${kb(report.tensorBytes)}, manifest ${kb(report.manifestBytes)})`,
            `  ${report.weights.toLocaleString('en-US')} weights at ${report.bitsPerWeight.toFixed(3)} bits each; float parameters ${kb(report.floatBytes)}`,
            `  ${report.compressionVsFp32.toFixed(2)}x smaller than FP32 (${kb(report.fp32Bytes)}), ${report.compressionVsInt8.toFixed(2)}x smaller than INT8 (${kb(report.int8Bytes)})`,
          ].join('\n'),
        );
      } finally {
        lock.release();
      }
    });
}

// `lowbit checkpoint info|upgrade`: what a checkpoint is (its fingerprint, model, whether its run
// finished) without building the model, and the upgrade of version-1 files to version 2.
import { Command } from 'commander';
import { readCheckpointRaw } from '../train/checkpoint-format.js';
import { upgradeCheckpointFile } from '../train/checkpoint-upgrade.js';
import { describeStatus, resolveCheckpoint, runStatus } from '../train/run-dir.js';

export function checkpointCommand(): Command {
  const cmd = new Command('checkpoint').description('inspect a checkpoint, or upgrade one written by lowbit 0.1.0');
  cmd
    .command('info')
    .description('fingerprint (sha256), model, method and run status of a checkpoint')
    .argument('<path>', 'checkpoint (.lbck) or run directory')
    .option('--json', 'print as JSON')
    .action((p: string, f: { json?: boolean }) => {
      const file = resolveCheckpoint(p, 'checkpoint');
      const { header, sha256 } = readCheckpointRaw(file);
      const status = runStatus(header.state);
      const info = {
        file,
        sha256,
        modelSpec: header.modelSpec,
        weights: header.weights.reduce((a, e) => a + e.length, 0),
        status,
        source: header.state.source ?? null,
      };
      if (f.json) return void console.log(JSON.stringify(info));
      const m = header.modelSpec;
      console.log(`${file}: sha256 ${sha256}`);
      console.log(
        `  ${String(m.zoo ?? 'model')} on ${String(m.dataset ?? '?')}${m.quantized ? `, quantized (${String(m.method)})` : ', full precision'}; ${info.weights.toLocaleString('en-US')} weights`,
      );
      console.log(`  ${describeStatus(status)}`);
      const src = header.state.source as { file?: string; sha256?: string } | undefined;
      if (src?.sha256) console.log(`  made from ${src.file} (sha256 ${src.sha256})`);
    });
  cmd
    .command('upgrade')
    .description('rewrite version-1 checkpoints in version 2 (a sha256 over the whole file), after verifying them')
    .argument('<files...>', 'version-1 checkpoint files')
    .action((files: string[]) => {
      for (const f of files) console.log(`${f}: upgraded to version 2, sha256 ${upgradeCheckpointFile(f)}`);
    });
  return cmd;
}

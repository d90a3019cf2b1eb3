#!/usr/bin/env node
// Builds the WebAssembly kernels of the runtime (native/wasm/*.c) with Debian's clang-14 and
// wasm-ld-14, and stores each binary in src/runtime/wasm/<name>.json (base64, with the sha256 of
// its source and of the binary): JSON so that tsc copies it to dist and esbuild inlines it in the
// browser bundle, and the runtime compiles it synchronously with no file or network access.
//   node scripts/build-wasm.mjs           rebuild and write the JSON files
//   node scripts/build-wasm.mjs --check   rebuild into memory and fail unless the committed files match byte for byte
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'native', 'wasm');
const outDir = path.join(root, 'src', 'runtime', 'wasm');
const CLANG = process.env.LOWBIT_CLANG ?? 'clang-14';
const FLAGS = [
  '--target=wasm32',
  '-msimd128',
  '-O3',
  '-ffreestanding',
  '-nostdlib',
  '-Wl,--no-entry',
  '-Wl,--export=__heap_base',
  '-Wl,--strip-all',
];
const check = process.argv.includes('--check');
const sha = (b) => createHash('sha256').update(b).digest('hex');

const version = spawnSync(CLANG, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`build-wasm: ${CLANG} not found; install Debian's clang-14 and lld-14 (scripts/install.sh does)`);
  process.exit(1);
}
const tmp = mkdtempSync(path.join(tmpdir(), 'lowbit-wasm-'));
let bad = 0;
try {
  for (const file of readdirSync(srcDir)
    .filter((f) => f.endsWith('.c'))
    .sort()) {
    const name = path.basename(file, '.c');
    const wasm = path.join(tmp, `${name}.wasm`);
    const r = spawnSync(CLANG, [...FLAGS, '-o', wasm, path.join(srcDir, file)], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`build-wasm: ${file} failed:\n${r.stderr}`);
      process.exit(1);
    }
    const bytes = readFileSync(wasm);
    const record = {
      source: `native/wasm/${file}`,
      sourceSha256: sha(readFileSync(path.join(srcDir, file))),
      compiler: version.stdout.split('\n')[0].trim(),
      flags: FLAGS.join(' '),
      sha256: sha(bytes),
      bytes: bytes.length,
      base64: bytes.toString('base64'),
    };
    const target = path.join(outDir, `${name}.json`);
    const text = `${JSON.stringify(record, null, 2)}\n`;
    if (check) {
      const committed = existsSync(target) ? JSON.parse(readFileSync(target, 'utf8')) : null;
      if (committed?.base64 !== record.base64) {
        console.error(
          `build-wasm: ${path.relative(root, target)} is not what ${record.source} builds to (rebuilt sha256 ${record.sha256}, committed ${committed?.sha256 ?? 'none'}); run node scripts/build-wasm.mjs`,
        );
        bad++;
      } else console.log(`${path.relative(root, target)}: ${record.bytes} bytes, identical to the rebuild`);
    } else {
      writeFileSync(target, text);
      console.log(`${path.relative(root, target)}: ${record.bytes} bytes (sha256 ${record.sha256.slice(0, 12)}…)`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(bad ? 1 : 0);

#!/usr/bin/env node
// Builds the WebAssembly kernels of the runtime (native/wasm/qconv.c, twice: plain SIMD and relaxed
// SIMD) with Debian's clang-16 and wasm-ld-16, and stores each binary in src/runtime/wasm/<name>.json (base64, with the sha256 of
// its source and of the binary): JSON so that tsc copies it to dist and esbuild inlines it in the
// browser bundle, and the runtime compiles it synchronously with no file or network access.
//   node scripts/build-wasm.mjs           rebuild and write the JSON files
//   node scripts/build-wasm.mjs --check   rebuild into memory and fail unless the committed files match byte for byte
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'native', 'wasm');
const outDir = path.join(root, 'src', 'runtime', 'wasm');
const CLANG = process.env.LOWBIT_CLANG ?? 'clang-16';
const FLAGS = [
  '--target=wasm32',
  '-msimd128',
  // -O2 without loop vectorization: the hot loops are written with SIMD intrinsics, and the binaries
  // (part of the runtime's download) stay small.
  '-O2',
  '-fno-vectorize',
  '-ffreestanding',
  '-nostdlib',
  '-Wl,--no-entry',
  '-Wl,--export=__heap_base',
  '-Wl,--strip-all',
];
// One binary per instruction set: the runtime picks the relaxed-SIMD one where the browser compiles it.
const builds = [
  { name: 'qconv', file: 'qconv.c', extra: [] },
  { name: 'qconv-relaxed', file: 'qconv.c', extra: ['-mrelaxed-simd', '-DLOWBIT_RELAXED'] },
];
const check = process.argv.includes('--check');
const sha = (b) => createHash('sha256').update(b).digest('hex');

const version = spawnSync(CLANG, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`build-wasm: ${CLANG} not found; install Debian's clang-16 and lld-16 (scripts/install.sh does)`);
  process.exit(1);
}
const tmp = mkdtempSync(path.join(tmpdir(), 'lowbit-wasm-'));
let bad = 0;
try {
  for (const { name, file, extra } of builds) {
    const wasm = path.join(tmp, `${name}.wasm`);
    const r = spawnSync(CLANG, [...FLAGS, ...extra, '-o', wasm, path.join(srcDir, file)], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`build-wasm: ${file} failed:\n${r.stderr}`);
      process.exit(1);
    }
    const bytes = readFileSync(wasm);
    const record = {
      source: `native/wasm/${file}`,
      sourceSha256: sha(readFileSync(path.join(srcDir, file))),
      compiler: version.stdout.split('\n')[0].trim(),
      flags: [...FLAGS, ...extra].join(' '),
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
      mkdirSync(outDir, { recursive: true });
      writeFileSync(target, text);
      console.log(`${path.relative(root, target)}: ${record.bytes} bytes (sha256 ${record.sha256.slice(0, 12)}…)`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(bad ? 1 : 0);

#!/usr/bin/env node
// Bundles lowbit/runtime (dist/src/runtime/index.js, built by tsc first) into one minified ES
// module for browsers and Web Workers, dist/runtime/lowbit-runtime.js (the browser tests load it),
// and the same as a classic script defining globalThis.lowbit, dist/runtime/lowbit-runtime.iife.js
// (what `lowbit export --format web` ships: classic scripts also run from file://). Prints the ES
// module's size. Usage: node scripts/build-runtime.mjs [--json]
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist', 'src', 'runtime', 'index.js');
if (!existsSync(entry)) {
  console.error(`build-runtime: ${path.relative(root, entry)} is missing; run \`npx tsc -p tsconfig.json\` first`);
  process.exit(1);
}
const out = path.join(root, 'dist', 'runtime', 'lowbit-runtime.js');
const r = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'error',
});
const code = r.outputFiles[0].contents;
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, code);
const iife = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'lowbit',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'error',
});
writeFileSync(out.replace(/\.js$/, '.iife.js'), iife.outputFiles[0].contents);
// Bytes in the bundle per package (or lowbit's own sources), largest first.
const inputs = Object.values(r.metafile.outputs)[0].inputs;
const byPackage = {};
for (const [file, i] of Object.entries(inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  const key = m ? m[1] : 'lowbit';
  byPackage[key] = (byPackage[key] ?? 0) + i.bytesInOutput;
}
const report = {
  file: path.relative(root, out),
  minifiedBytes: code.length,
  gzippedBytes: gzipSync(code, { level: 9 }).length,
  byPackage: Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1])),
};
if (process.argv.includes('--json')) console.log(JSON.stringify(report));
else
  console.log(
    `${report.file}: ${(report.minifiedBytes / 1024).toFixed(1)} KB minified, ${(report.gzippedBytes / 1024).toFixed(1)} KB gzipped`,
  );

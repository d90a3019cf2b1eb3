// `lowbit export --format web`: a self-contained static folder that runs a packed model in the
// browser with lowbit's runtime: index.html and page.js (assets/web/), the runtime as a classic
// script (dist/runtime/lowbit-runtime.iife.js, built by `npm run build`) and the model inlined as
// base64 in model.js. Classic scripts and no fetch: it works from file:// and from any static host,
// with no network. 28×28 grayscale MNIST models get a canvas to draw on; embedded test images
// (when the dataset is at hand) let any model be tried.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic.js';
import type { Manifest } from './manifest.js';

export interface WebSample {
  label: number;
  /** One image, H·W·C bytes (HWC). */
  pixels: Uint8Array;
}

export interface WebExportOptions {
  title?: string;
  classNames?: string[];
  samples?: WebSample[];
}

/** The package root: the nearest folder above this file holding assets/web/ (src/ and dist/src/ alike). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = path.dirname(dir)) if (existsSync(path.join(dir, 'assets', 'web', 'index.html'))) return dir;
  throw new Error('web export: assets/web/ is missing from this installation of lowbit');
}

/** Writes the folder; returns the files written. */
export function exportWeb(bytes: Uint8Array, manifest: Manifest, outDir: string, o: WebExportOptions = {}): string[] {
  const root = packageRoot();
  const runtime = path.join(root, 'dist', 'runtime', 'lowbit-runtime.iife.js');
  if (!existsSync(runtime)) throw new Error(`web export: ${runtime} is missing; run \`npm run build\` (it bundles the runtime)`);
  const input = manifest.input;
  if (!input) throw new Error('web export: the model does not record its input normalisation (packed by lowbit 0.1); pack it again');
  const [h, w, c] = manifest.inputShape;
  const meta = {
    title: o.title ?? `${String(manifest.modelSpec.model ?? manifest.modelSpec.zoo ?? 'model')} on ${input.dataset ?? 'its dataset'}`,
    mean: input.mean,
    std: input.std,
    labels: o.classNames ?? [],
    draw: input.dataset === 'mnist' && h === 28 && w === 28 && c === 1,
    samples: (o.samples ?? []).map((s) => ({ label: s.label, pixels: Buffer.from(s.pixels).toString('base64') })),
    base64: Buffer.from(bytes).toString('base64'),
  };
  const files = {
    'index.html': readFileSync(path.join(root, 'assets', 'web', 'index.html')),
    'page.js': readFileSync(path.join(root, 'assets', 'web', 'page.js')),
    'lowbit-runtime.iife.js': readFileSync(runtime),
    'model.js': Buffer.from(`window.LOWBIT_MODEL = ${JSON.stringify(meta)};\n`),
  };
  for (const [name, body] of Object.entries(files)) writeFileAtomic(path.join(outDir, name), body);
  return Object.keys(files).map((f) => path.join(outDir, f));
}

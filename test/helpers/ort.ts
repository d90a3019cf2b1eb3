// onnxruntime-node when it is installed (a devDependency installed with ONNXRUNTIME_NODE_INSTALL=skip), else null.
import { createRequire } from 'node:module';

export type Ort = typeof import('onnxruntime-node');

function load(): Ort | null {
  try {
    return createRequire(import.meta.url)('onnxruntime-node') as Ort;
  } catch {
    return null;
  }
}

export const ort = load();

// TensorFlow.js export: model.json (topology + weights manifest) and one binary weights file,
// the format tf.loadLayersModel reads.
//   - default: lowbit's QConv2D / QDense layers with kernels as their decoded quantized values
//     and the activation quantizers (parameters in the layer configs): in a browser,
//     `import 'lowbit'` registers the layer classes, then tf.loadLayersModel gives the training
//     simulation's predictions;
//   - plain: stock tfjs layers only (Conv2D / Dense with the decoded quantized weights); it loads
//     anywhere tfjs runs, but activations are not quantized, so predictions are approximate.
import { tf } from '../engine/tf.js';
import type { PackedModel } from './read.js';
import { toLayersModel } from './to-layers.js';
import { opOf } from './layers/registry.js';
import { QuantLayer } from '../nn/quant-layer.js';
import { isLearned } from '../nn/quantizer.js';

export interface TfjsArtifacts {
  /** model.json contents. */
  modelJson: Record<string, unknown>;
  /** The weights file named in the manifest. */
  weightsFile: string;
  weightData: Uint8Array;
}

/**
 * The model to save. Kernels are saved as their decoded quantized values and their weight
 * quantizers dropped (re-quantizing exact values would need MPQ's flags, which a layer config
 * cannot hold compactly). `plain` also drops the activation quantizers and uses stock layers.
 */
async function exportedModel(q: tf.LayersModel, plain: boolean): Promise<tf.LayersModel> {
  const topology = q.toJSON(null, false) as unknown as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  for (const l of topology.config.layers) {
    const op = opOf(l.class_name);
    if (op?.quantizers?.weight) {
      l.config.weight_quant = null;
      l.config.weight_state = null;
    }
    if (plain) op?.tfjs?.plain?.(l);
  }
  const m = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  for (const layer of m.layers) {
    const src = q.getLayer(layer.name);
    const ws = src.getWeights();
    if (src instanceof QuantLayer) {
      const k = src.quantizedKernel();
      const rest = ws.slice(1, src.useBias ? 2 : 1);
      // A learned input quantizer (PACT) keeps its clip as the last weight.
      if (!plain && src.inputQ && isLearned(src.inputQ.spec)) rest.push(ws[ws.length - 1]);
      // A plain DepthwiseConv2D takes the [kh, kw, 1, C·m] kernel as tfjs's [kh, kw, C, m] (the same order).
      const want = layer.getWeights()[0].shape;
      const kk = k.shape.join() === want.join() ? k : tf.reshape(k, want);
      layer.setWeights([kk, ...rest]);
      tf.dispose([k, kk]);
    } else if (ws.length) layer.setWeights(ws);
  }
  return m;
}

export async function exportTfjs(p: PackedModel, opts: { plain?: boolean; weightsFile?: string } = {}): Promise<TfjsArtifacts> {
  const q = await toLayersModel(p);
  const model = await exportedModel(q, Boolean(opts.plain));
  const weightsFile = opts.weightsFile ?? 'weights.bin';
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = saved as unknown as tf.io.ModelArtifacts;
  const data =
    a.weightData instanceof ArrayBuffer
      ? new Uint8Array(a.weightData)
      : new Uint8Array(tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]));
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: `lowbit${opts.plain ? ' (plain tfjs layers)' : ' (needs lowbit layers registered)'}`,
      convertedBy: null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs }],
    },
    weightsFile,
    weightData: data,
  };
}

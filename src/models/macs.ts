// Multiply-accumulate counts per layer of a tfjs LayersModel (convolutions and dense layers),
// used to report achieved GFLOP/s and, later, by the accelerator model.
import type { tf } from '../engine/tf.js';

export interface LayerMacs {
  name: string;
  kind: 'conv2d' | 'depthwise' | 'dense';
  macs: number;
}

/** A layer's (first) shape with unknown dimensions as 1. */
export function dims(shape: tf.Shape | tf.Shape[]): number[] {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
  return s.map((d) => d ?? 1);
}

/** MACs per input example for every Conv2D, DepthwiseConv2D and Dense layer. */
export function layerMacs(model: tf.LayersModel): LayerMacs[] {
  const out: LayerMacs[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D') {
      const [, oh, ow, oc] = dims(layer.outputShape);
      const [kh, kw, ic] = layer.getWeights()[0].shape;
      out.push({ name: layer.name, kind: 'conv2d', macs: oh * ow * oc * kh * kw * ic });
    } else if (cls === 'DepthwiseConv2D') {
      // One window per output channel (input channel × multiplier): kh·kw MACs each.
      const [, oh, ow, oc] = dims(layer.outputShape);
      const [kh, kw] = layer.getWeights()[0].shape;
      out.push({ name: layer.name, kind: 'depthwise', macs: oh * ow * oc * kh * kw });
    } else if (cls === 'Dense') {
      const [inF, outF] = layer.getWeights()[0].shape;
      out.push({ name: layer.name, kind: 'dense', macs: inF * outF });
    }
  }
  return out;
}

export function totalMacs(model: tf.LayersModel): number {
  return layerMacs(model).reduce((s, l) => s + l.macs, 0);
}

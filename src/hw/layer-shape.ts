// The shape of one conv/dense layer as the accelerator model sees it (batch, input, output, window,
// strides): what tiling.ts and layer.ts both read, in a file of its own so neither imports the other.
// A depthwise layer has inC groups of one input channel and outC / inC outputs each.
export interface LayerShape {
  name: string;
  kind: 'conv2d' | 'depthwise' | 'dense';
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
}

/** Groups of a layer (depthwise: one per input channel) and its reduction per output (kh·kw·channels per group). */
export function groupsOf(s: LayerShape): { groups: number; K: number } {
  return s.kind === 'depthwise' ? { groups: s.inC, K: s.kh * s.kw } : { groups: 1, K: s.kh * s.kw * s.inC };
}

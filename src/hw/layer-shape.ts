// The shape of one conv/dense layer as the accelerator model sees it (batch, input, output, window,
// strides): what tiling.ts and layer.ts both read, in a file of its own so neither imports the other.
export interface LayerShape {
  name: string;
  kind: 'conv2d' | 'dense';
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

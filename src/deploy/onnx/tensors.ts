// ONNX values as plain objects (tensors, attributes, value infos, the graph): what the layer ops and
// weight codecs build, without the protobuf encoder (proto.ts), so the runtime bundle stays free of it.
/** ONNX TensorProto.DataType values used by lowbit. */
export const OnnxType = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT32: 6, INT64: 7, FLOAT16: 10, UINT4: 21, INT4: 22 } as const;
/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, INTS: 7 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): OnnxTensor {
  return { name, dims, dataType: OnnxType.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

export function int8Tensor(name: string, dims: number[], values: ArrayLike<number>, unsigned: boolean): OnnxTensor {
  const raw = unsigned ? Uint8Array.from(values) : new Uint8Array(Int8Array.from(values).buffer);
  return { name, dims, dataType: unsigned ? OnnxType.UINT8 : OnnxType.INT8, rawData: raw };
}

export function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export interface OnnxGraph {
  name: string;
  nodes: { opType: string; input: string[]; output: string[]; name?: string; attribute?: unknown[] }[];
  initializers: OnnxTensor[];
  inputs: ReturnType<typeof valueInfo>[];
  outputs: ReturnType<typeof valueInfo>[];
}

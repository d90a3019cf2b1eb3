// Reading an ONNX file into plain objects: the graph's nodes with typed attributes, its constant
// tensors as numbers, its one image input. Everything a file can get wrong is refused here with one
// line naming what and where: bytes that are not a ModelProto, an opset outside 11–21, nodes of
// another domain, weights kept in external files, sparse or string tensors, subgraphs.
import { ModelProto } from '../deploy/onnx/proto.js';

/** A constant tensor: floats as float32, integers (int64 included, within 2^53) as float64. */
export interface ConstTensor {
  dims: number[];
  data: Float32Array | Float64Array;
  integer: boolean;
}

export type Attr =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: ConstTensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] };

export interface OnnxNode {
  op: string;
  /** The node's name, or `<op> #<index>` where the exporter left it empty. */
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, Attr>;
}

export interface OnnxModel {
  /** The default domain's opset. */
  opset: number;
  input: { name: string; dims: (number | null)[] };
  output: string;
  initializers: Map<string, ConstTensor>;
  nodes: OnnxNode[];
}

export const MIN_OPSET = 11;
export const MAX_OPSET = 21;

type Long = number | { toNumber(): number };
const num = (v: Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

// TensorProto.DataType values and how each is read from raw bytes.
const DTYPES: Record<number, { name: string; bytes: number; integer: boolean; read: (d: DataView, at: number) => number }> = {
  1: { name: 'float', bytes: 4, integer: false, read: (d, at) => d.getFloat32(at, true) },
  2: { name: 'uint8', bytes: 1, integer: true, read: (d, at) => d.getUint8(at) },
  3: { name: 'int8', bytes: 1, integer: true, read: (d, at) => d.getInt8(at) },
  5: { name: 'int16', bytes: 2, integer: true, read: (d, at) => d.getInt16(at, true) },
  6: { name: 'int32', bytes: 4, integer: true, read: (d, at) => d.getInt32(at, true) },
  7: { name: 'int64', bytes: 8, integer: true, read: (d, at) => Number(d.getBigInt64(at, true)) },
  9: { name: 'bool', bytes: 1, integer: true, read: (d, at) => d.getUint8(at) },
  10: { name: 'float16', bytes: 2, integer: false, read: (d, at) => half(d.getUint16(at, true)) },
  11: { name: 'double', bytes: 8, integer: false, read: (d, at) => d.getFloat64(at, true) },
};

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1,
    e = (h >> 10) & 31,
    f = h & 1023;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

interface RawTensor {
  name?: string;
  dims?: Long[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Long[];
  doubleData?: number[];
  externalData?: Uint8Array[];
  dataLocation?: number;
}

/** A TensorProto as numbers; `what` names it in errors. */
export function readTensor(t: RawTensor, what: string): ConstTensor {
  const dims = (t.dims ?? []).map(num);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${what}: dimensions [${dims.join(', ')}] are not sizes`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0)
    throw new Error(`${what} keeps its data in an external file; export the model with its weights inside (one .onnx file)`);
  const type = DTYPES[t.dataType ?? 0];
  if (!type) throw new Error(`${what} has data type ${t.dataType ?? 'none'}; lowbit reads float, float16, double and integer tensors`);
  // The data's length is checked against the shape before anything is allocated: a hostile shape
  // (billions of values over a few bytes) is refused, not allocated.
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  // Typed fields: float in float_data, double in double_data, int64 in int64_data, the rest in int32_data.
  const src: ArrayLike<Long> = raw
    ? []
    : t.dataType === 1
      ? (t.floatData ?? [])
      : t.dataType === 11
        ? (t.doubleData ?? [])
        : t.dataType === 7
          ? (t.int64Data ?? [])
          : (t.int32Data ?? []);
  if (raw && raw.length !== n * type.bytes)
    throw new Error(`${what}: ${raw.length} bytes of ${type.name} data for ${n} values (shape [${dims.join(', ')}])`);
  if (!raw && src.length !== n) throw new Error(`${what}: ${src.length} values for shape [${dims.join(', ')}]`);
  const out = type.integer ? new Float64Array(n) : new Float32Array(n);
  if (raw) {
    const d = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) out[i] = type.read(d, i * type.bytes);
  } else for (let i = 0; i < n; i++) out[i] = t.dataType === 10 ? half(num(src[i])) : num(src[i]);
  if (type.integer && out.some((v) => !Number.isSafeInteger(v))) throw new Error(`${what}: an integer beyond 2^53`);
  return { dims, data: out, integer: type.integer };
}

interface RawAttr {
  name?: string;
  type?: number;
  f?: number;
  i?: Long;
  s?: Uint8Array;
  t?: RawTensor;
  floats?: number[];
  ints?: Long[];
  g?: Uint8Array;
  graphs?: Uint8Array[];
  strings?: Uint8Array[];
}

function readAttr(a: RawAttr, what: string): Attr {
  const where = `${what}, attribute ${a.name}`;
  // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7, STRINGS 8.
  switch (a.type) {
    case 1:
      return { kind: 'float', value: a.f ?? 0 };
    case 2:
      return { kind: 'int', value: num(a.i) };
    case 3:
      return { kind: 'string', value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case 4:
      return { kind: 'tensor', value: readTensor(a.t ?? {}, where) };
    case 6:
      return { kind: 'floats', value: [...(a.floats ?? [])] };
    case 7:
      return { kind: 'ints', value: (a.ints ?? []).map(num) };
    case 5:
    case 10:
      throw new Error(`${where} holds a subgraph (control flow); lowbit imports feed-forward graphs`);
    default:
      throw new Error(`${where} has attribute type ${a.type ?? 'none'}, which lowbit does not read`);
  }
}

interface RawModel {
  opsetImport?: { domain?: string; version?: Long }[];
  graph?: {
    node?: { opType?: string; name?: string; input?: string[]; output?: string[]; attribute?: RawAttr[]; domain?: string }[];
    initializer?: RawTensor[];
    sparseInitializer?: Uint8Array[];
    input?: { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: Long; dimParam?: string }[] } } } }[];
    output?: { name?: string }[];
  };
}

/** The ONNX model in `bytes`, checked; `file` names it in errors. */
export function readOnnx(bytes: Uint8Array, file = 'the ONNX model'): OnnxModel {
  let m: RawModel;
  try {
    m = ModelProto.decode(bytes) as unknown as RawModel;
  } catch (e) {
    throw new Error(`${file} is not an ONNX model (${(e as Error).message})`);
  }
  const g = m.graph;
  if (!g || !(g.node?.length ?? 0)) throw new Error(`${file} is not an ONNX model with a graph of nodes`);
  const ops = (m.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
  if (ops.length !== 1) throw new Error(`${file} imports no default-domain opset`);
  const opset = num(ops[0].version);
  if (opset < MIN_OPSET || opset > MAX_OPSET)
    throw new Error(`${file} uses opset ${opset}; lowbit imports opsets ${MIN_OPSET}–${MAX_OPSET}`);
  if ((g.sparseInitializer?.length ?? 0) > 0) throw new Error(`${file} has sparse initializers, which lowbit does not read`);
  const initializers = new Map<string, ConstTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', readTensor(t, `${file}: initializer '${t.name}'`));
  const nodes = (g.node ?? []).map((n, i): OnnxNode => {
    const op = n.opType ?? '';
    const name = n.name || `${op} #${i}`;
    if (n.domain && n.domain !== 'ai.onnx')
      throw new Error(`${file}: node '${name}' (${op}) is of domain '${n.domain}'; lowbit imports the default ONNX domain`);
    const attrs = new Map<string, Attr>();
    for (const a of n.attribute ?? []) attrs.set(a.name ?? '', readAttr(a, `${file}: node '${name}' (${op})`));
    return { op, name, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  // Older exporters list the initializers among the inputs too.
  const inputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  if (inputs.length !== 1) throw new Error(`${file} has ${inputs.length} inputs; lowbit imports models with one image input`);
  const tt = inputs[0].type?.tensorType;
  if (tt?.elemType !== 1) throw new Error(`${file}: input '${inputs[0].name}' is not float32`);
  const dims = (tt.shape?.dim ?? []).map((d) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null));
  if (dims.length !== 4 || dims.slice(1).some((d) => d === null))
    throw new Error(
      `${file}: input '${inputs[0].name}' has shape [${dims.map((d) => d ?? '?').join(', ')}]; expected [batch, channels, height, width] with fixed image dimensions`,
    );
  if ((g.output?.length ?? 0) !== 1)
    throw new Error(`${file} has ${g.output?.length ?? 0} outputs; lowbit imports models with one (the logits)`);
  return { opset, input: { name: inputs[0].name ?? '', dims }, output: g.output![0].name ?? '', initializers, nodes };
}

/**
 * Generic helpers to build ONNX models in TypeScript with `onnx-proto` (protobufjs static code for
 * onnx.proto): attributes, tensors, value infos, nodes and model encoding with verification.
 * Shared by the tree-ensemble export (models/onnx/trees.ts) and the MLP export (models/onnx/mlp.ts).
 * Reference: ONNX IR spec (onnx/docs/IR.md) and operator docs (onnx/docs/Operators.md, Operators-ml.md).
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
const AT = onnx.AttributeProto.AttributeType;
/** ONNX tensor element types (TensorProto.DataType). */
export const DataType = onnx.TensorProto.DataType;
const enc = new TextEncoder();

export type Attribute = Record<string, unknown>;
export type Dim = number | string;

export const attr = {
  int: (name: string, i: number): Attribute => ({ name, type: AT.INT, i }),
  ints: (name: string, ints: number[]): Attribute => ({ name, type: AT.INTS, ints }),
  float: (name: string, f: number): Attribute => ({ name, type: AT.FLOAT, f }),
  floats: (name: string, floats: number[]): Attribute => ({ name, type: AT.FLOATS, floats }),
  string: (name: string, s: string): Attribute => ({ name, type: AT.STRING, s: enc.encode(s) }),
  strings: (name: string, s: string[]): Attribute => ({ name, type: AT.STRINGS, strings: s.map((x) => enc.encode(x)) }),
  tensor: (name: string, t: object): Attribute => ({ name, type: AT.TENSOR, t }),
};

/** A float32 tensor (raw little-endian bytes), for initializers and tensor attributes. */
export function floatTensor(name: string, dims: number[], data: ArrayLike<number>): object {
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(data).buffer) };
}

/** A float64 tensor (raw little-endian bytes). */
export function doubleTensor(name: string, dims: number[], data: ArrayLike<number>): object {
  return { name, dims, dataType: DataType.DOUBLE, rawData: new Uint8Array(Float64Array.from(data).buffer) };
}

/** An int64 tensor (raw little-endian bytes). */
export function int64Tensor(name: string, dims: number[], data: ArrayLike<number>): object {
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(BigInt64Array.from(Array.from(data, (v) => BigInt(v))).buffer) };
}

/** A graph input/output description: tensor of `elemType` with static or symbolic dims. */
export function valueInfo(name: string, elemType: number, dims: Dim[]): object {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** A graph node. `domain` '' = default ONNX domain, 'ai.onnx.ml' for the ML operators. */
export function node(opType: string, input: string[], output: string[], attribute: Attribute[] = [], opts: { name?: string; domain?: string } = {}): object {
  return { opType, input, output, attribute, name: opts.name ?? `${opType}_${output[0]}`, domain: opts.domain ?? '' };
}

export interface ModelSpec {
  graphName: string;
  nodes: object[];
  inputs: object[];
  outputs: object[];
  initializers?: object[];
  /** Opset imports, e.g. [{ domain: '', version: 13 }, { domain: 'ai.onnx.ml', version: 3 }]. */
  opsets: { domain: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Free-form metadata (feature names, training config digest ...), stored as metadata_props. */
  metadata?: Record<string, string>;
}

/**
 * Encodes an ONNX ModelProto (IR version 8). Throws Error with protobufjs' verification message
 * when the structure is invalid. Deterministic: same spec → same bytes.
 */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: spec.producerName ?? 'trademl',
    producerVersion: spec.producerVersion ?? '0.1.0',
    docString: spec.docString ?? '',
    opsetImport: spec.opsets,
    metadataProps: Object.entries(spec.metadata ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName,
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers ?? [],
    },
  });
  const err = onnx.ModelProto.verify(m);
  if (err) throw new Error(`invalid ONNX model ${spec.graphName}: ${err}`);
  return onnx.ModelProto.encode(m).finish();
}

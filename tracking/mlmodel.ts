import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type OnnxProto from 'onnx-proto';
import YAML from 'yaml';
import { UserError } from '../lib/errors.ts';

/**
 * The MLflow model format for TradeML's ONNX models: an `MLmodel` file with the `onnx` flavor and
 * the `python_function` flavor (loader `mlflow.onnx`) plus a tensor signature read from the ONNX
 * graph itself, and a `requirements.txt`. With these next to `model.onnx` in a registered version's
 * folder, the Python client loads it as `mlflow.pyfunc.load_model("models:/<name>@champion")` and
 * scores a float32 matrix. Layout per MLflow's own `mlflow.onnx.save_model` (MLflow 2.x/3.x);
 * signature JSON per `mlflow.models.signature.ModelSignature.to_dict` (tensor-based specs).
 */

/** onnx-proto (protobufjs code for onnx.proto), required on first use: a run that registers no model does not load it (≈ 30 ms of start-up). */
let onnxApi: typeof OnnxProto.onnx | undefined;
function onnx(): typeof OnnxProto.onnx {
  onnxApi ??= (createRequire(import.meta.url)('onnx-proto') as typeof OnnxProto).onnx;
  return onnxApi;
}

/** One tensor of a model signature: name, numpy dtype, shape with -1 for a free (batch) dimension. */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
}

export interface OnnxSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** ONNX TensorProto.DataType → numpy dtype names MLflow's TensorSpec accepts. */
function numpyDtype(elemType: number): string | undefined {
  const t = onnx().TensorProto.DataType;
  const names: Record<number, string> = {
    [t.FLOAT]: 'float32',
    [t.DOUBLE]: 'float64',
    [t.FLOAT16]: 'float16',
    [t.INT8]: 'int8',
    [t.INT16]: 'int16',
    [t.INT32]: 'int32',
    [t.INT64]: 'int64',
    [t.UINT8]: 'uint8',
    [t.UINT16]: 'uint16',
    [t.UINT32]: 'uint32',
    [t.UINT64]: 'uint64',
    [t.BOOL]: 'bool',
    [t.STRING]: 'str',
  };
  return names[elemType];
}

/**
 * The signature of an ONNX model from its graph: every graph input that is not an initializer,
 * and every output, with dims as numbers (a symbolic or unknown dim, e.g. the batch `N`, is -1).
 * Throws a UserError when the bytes are not an ONNX model or a tensor type is not a plain tensor.
 */
export function onnxSignature(model: Uint8Array): OnnxSignature {
  let decoded: ReturnType<typeof OnnxProto.onnx.ModelProto.decode>;
  try {
    decoded = onnx().ModelProto.decode(model);
  } catch (err) {
    throw new UserError(`cannot read the ONNX model for its MLflow signature: ${(err as Error).message}`);
  }
  const graph = decoded.graph;
  if (!graph || !graph.input?.length) throw new UserError('the ONNX model has no graph inputs, so it has no MLflow signature; re-export it');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const spec = (vi: (typeof graph.input)[number], role: string): TensorSpec => {
    const t = vi.type?.tensorType;
    const name = vi.name ?? '';
    if (!t || t.elemType == null) throw new UserError(`ONNX ${role} "${name}" is not a tensor; TradeML's MLflow signature supports tensor inputs/outputs only`);
    const dtype = numpyDtype(t.elemType);
    if (!dtype) throw new UserError(`ONNX ${role} "${name}" has element type ${t.elemType}, which has no numpy dtype for an MLflow signature`);
    const shape = (t.shape?.dim ?? []).map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1));
    return { name, dtype, shape };
  };
  return {
    inputs: graph.input.filter((i) => !initializers.has(i.name ?? '')).map((i) => spec(i, 'input')),
    outputs: (graph.output ?? []).map((o) => spec(o, 'output')),
  };
}

/** MLflow's JSON for a list of tensor specs (`Schema.to_json()`), e.g. `[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 24]}, "name": "X"}]`. */
function schemaJson(specs: TensorSpec[]): string {
  return JSON.stringify(specs.map((s) => ({ type: 'tensor', 'tensor-spec': { dtype: s.dtype, shape: s.shape }, name: s.name })));
}

/**
 * The text of an `MLmodel` file for `onnxFile` (a name in the same folder) with `signature`.
 * `runId` and `artifactPath` record where the version's files live; `modelUuid` and `createdAt`
 * default to a fresh UUID and now.
 */
export function buildMlmodel(opts: { onnxFile: string; signature: OnnxSignature; modelSizeBytes?: number; runId?: string; artifactPath?: string; modelUuid?: string; createdAt?: Date }): string {
  const created = (opts.createdAt ?? new Date()).toISOString().replace('T', ' ').replace('Z', '');
  const doc: Record<string, unknown> = {
    artifact_path: opts.artifactPath ?? 'model',
    flavors: {
      onnx: { code: null, data: opts.onnxFile, onnx_session_options: null, providers: ['CPUExecutionProvider'] },
      python_function: { data: opts.onnxFile, env: { virtualenv: 'python_env.yaml' }, loader_module: 'mlflow.onnx' },
    },
    model_size_bytes: opts.modelSizeBytes ?? null,
    model_uuid: (opts.modelUuid ?? randomUUID()).replace(/-/g, ''),
    run_id: opts.runId ?? null,
    signature: { inputs: schemaJson(opts.signature.inputs), outputs: schemaJson(opts.signature.outputs), params: null },
    utc_time_created: created,
  };
  return YAML.stringify(doc);
}

/** Python packages a scoring environment needs for the `mlflow.onnx` loader (floors, not pins: any recent client works). */
export const PYFUNC_REQUIREMENTS = ['mlflow>=2.4', 'onnx>=1.14', 'onnxruntime>=1.16', 'numpy'];

/**
 * Writes the MLflow model files for the ONNX model at `onnx` into `dir`: `MLmodel` (onnx +
 * python_function flavors, signature from the graph), `requirements.txt` and `python_env.yaml`.
 * Returns `[localPath, nameUnderModelFolder]` pairs to upload next to `model.onnx` (the registry
 * stores the ONNX file as `model.onnx`, which `onnxFile` must name). Throws a UserError for a file
 * that is not an ONNX model.
 */
export function writeOnnxMlmodel(opts: { onnx: string; dir: string; runId?: string; onnxFile?: string; createdAt?: Date }): Array<[string, string]> {
  const bytes = readFileSync(opts.onnx);
  const signature = onnxSignature(bytes);
  mkdirSync(opts.dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['MLmodel', buildMlmodel({ onnxFile: opts.onnxFile ?? 'model.onnx', signature, modelSizeBytes: bytes.length, runId: opts.runId, createdAt: opts.createdAt })],
    ['requirements.txt', PYFUNC_REQUIREMENTS.join('\n') + '\n'],
    ['python_env.yaml', YAML.stringify({ python: '3.11', build_dependencies: ['pip', 'setuptools', 'wheel'], dependencies: ['-r requirements.txt'] })],
  ];
  return files.map(([name, text]) => {
    const p = path.join(opts.dir, name);
    writeFileSync(p, text);
    return [p, name];
  });
}

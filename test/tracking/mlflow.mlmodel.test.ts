import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { DataType, encodeModel, floatTensor, node, valueInfo } from '../../models/onnx/proto.ts';
import { buildMlmodel, onnxSignature, writeOnnxMlmodel } from '../../tracking/mlmodel.ts';
import { tempDir } from './support/tmp.ts';

/** A linear scorer with the graph shape TradeML's exporters use: input X [N, F] float32 → Y [N, 1], plus an int64 label output. */
function model(F: number): Uint8Array {
  return encodeModel({
    graphName: 'linear',
    nodes: [node('Gemm', ['X', 'W', 'B'], ['Y']), node('ArgMax', ['Y'], ['label'], [{ name: 'axis', type: 2, i: 1 }])],
    inputs: [valueInfo('X', DataType.FLOAT, ['N', F])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['N', 1]), valueInfo('label', DataType.INT64, ['N', 1])],
    initializers: [floatTensor('W', [F, 1], Array.from({ length: F }, (_, i) => i / 10)), floatTensor('B', [1], [0])],
    opsets: [{ domain: '', version: 13 }],
  });
}

describe('MLflow model files for ONNX models (tracking/mlmodel.ts)', () => {
  it('reads the signature from the graph: free dims are -1, initializers are not inputs', () => {
    expect(onnxSignature(model(24))).toEqual({
      inputs: [{ name: 'X', dtype: 'float32', shape: [-1, 24] }],
      outputs: [
        { name: 'Y', dtype: 'float32', shape: [-1, 1] },
        { name: 'label', dtype: 'int64', shape: [-1, 1] },
      ],
    });
    expect(() => onnxSignature(new Uint8Array([1, 2, 3, 250, 255]))).toThrow(/cannot read the ONNX model|no graph inputs/);
  });

  it('writes MLmodel with the onnx and python_function flavors and the tensor signature MLflow parses', () => {
    const text = buildMlmodel({ onnxFile: 'model.onnx', signature: onnxSignature(model(3)), runId: 'r1', modelUuid: '0f0f', createdAt: new Date('2024-01-02T03:04:05.678Z') });
    const doc = YAML.parse(text) as Record<string, any>;
    expect(doc.flavors.python_function).toEqual({ data: 'model.onnx', env: { virtualenv: 'python_env.yaml' }, loader_module: 'mlflow.onnx' });
    expect(doc.flavors.onnx.data).toBe('model.onnx');
    expect(doc.run_id).toBe('r1');
    expect(doc.utc_time_created).toBe('2024-01-02 03:04:05.678');
    expect(JSON.parse(doc.signature.inputs)).toEqual([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] }, name: 'X' }]);
    expect(JSON.parse(doc.signature.outputs).map((o: { name: string }) => o.name)).toEqual(['Y', 'label']);
  });

  it('writes the files to upload beside model.onnx', () => {
    const dir = tempDir('trademl-mlmodel-');
    const onnx = path.join(dir, 'm.onnx');
    writeFileSync(onnx, model(5));
    const files = writeOnnxMlmodel({ onnx, dir: path.join(dir, 'out') });
    expect(files.map(([, name]) => name)).toEqual(['MLmodel', 'requirements.txt', 'python_env.yaml']);
    const ml = YAML.parse(readFileSync(files[0]![0], 'utf8')) as { model_size_bytes: number };
    expect(ml.model_size_bytes).toBe(model(5).length);
    expect(readFileSync(files[1]![0], 'utf8')).toMatch(/^mlflow>=2\.4\nonnx>=/);
  });
});

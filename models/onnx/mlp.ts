// MLP → ONNX (opset 13: Sub, Mul, Gemm, Relu), built with the shared helpers of models/onnx/proto.ts.
import type { MlpParams } from '../../rl/networks.ts';
import { DataType, encodeModel, floatTensor, node, valueInfo } from './proto.ts';

export interface MlpOnnxOptions {
  /** graph input name (default `state`), shape [N, in], float32. */
  inputName?: string;
  /** graph output name (default `scores`), shape [N, out], float32. */
  outputName?: string;
  graphName?: string;
  /** string metadata stored in the model (e.g. actions, feature names, algorithm). */
  metadata?: Record<string, string>;
}

/**
 * Serialises an {@link MlpParams} network to ONNX bytes:
 *   state → Sub(mean) → Mul(invStd) → Gemm(W1, b1) → Relu → … → Gemm(WL, bL) → scores
 * Input [N, in] float32, output [N, out] float32 (N symbolic). The same arithmetic order as the tfjs
 * network, so scores agree to float32 rounding. Throws when layer shapes do not chain.
 */
export function mlpToOnnx(p: MlpParams, opts: MlpOnnxOptions = {}): Uint8Array {
  const input = opts.inputName ?? 'state';
  const output = opts.outputName ?? 'scores';
  const d = p.inputMean.length;
  if (p.inputInvStd.length !== d) throw new Error(`mlpToOnnx: inputMean has ${d} entries but inputInvStd ${p.inputInvStd.length}`);
  const nodes: object[] = [node('Sub', [input, 'in_mean'], ['x_centered'], [], { name: 'center' }), node('Mul', ['x_centered', 'in_inv_std'], ['x0'], [], { name: 'scale' })];
  const inits: object[] = [floatTensor('in_mean', [d], p.inputMean), floatTensor('in_inv_std', [d], p.inputInvStd)];
  let prev = 'x0';
  let width = d;
  p.layers.forEach((L, l) => {
    if (L.in !== width) throw new Error(`mlpToOnnx: layer ${l} expects ${L.in} inputs but receives ${width}`);
    if (L.w.length !== L.in * L.out || L.b.length !== L.out) throw new Error(`mlpToOnnx: layer ${l} has ${L.w.length} weights / ${L.b.length} biases for shape [${L.in}, ${L.out}]`);
    const last = l === p.layers.length - 1;
    const gemmOut = last ? output : `h${l}`;
    inits.push(floatTensor(`W${l}`, [L.in, L.out], L.w), floatTensor(`b${l}`, [L.out], L.b));
    nodes.push(node('Gemm', [prev, `W${l}`, `b${l}`], [gemmOut], [], { name: `gemm${l}` }));
    if (!last) {
      nodes.push(node('Relu', [gemmOut], [`r${l}`], [], { name: `relu${l}` }));
      prev = `r${l}`;
    }
    width = L.out;
  });
  return encodeModel({
    graphName: opts.graphName ?? 'mlp',
    nodes,
    initializers: inits,
    inputs: [valueInfo(input, DataType.FLOAT, ['N', d])],
    outputs: [valueInfo(output, DataType.FLOAT, ['N', width])],
    opsets: [{ domain: '', version: 13 }],
    metadata: opts.metadata,
  });
}

/**
 * Scores states with an ONNX MLP through onnxruntime-node (CPU, one thread).
 * `states` is [n·in] row-major; returns [n·out] float32 scores. Imports onnxruntime lazily.
 */
export async function scoreOnnx(model: Uint8Array | string, states: Float32Array, n: number, inDim: number): Promise<Float32Array> {
  const ort = await import('onnxruntime-node');
  const sess = await ort.InferenceSession.create(model as Uint8Array, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const out = await sess.run({ [sess.inputNames[0]!]: new ort.Tensor('float32', states, [n, inDim]) });
    return Float32Array.from(out[sess.outputNames[0]!]!.data as Float32Array);
  } finally {
    await sess.release();
  }
}

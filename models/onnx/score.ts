/**
 * Scores an ONNX model with onnxruntime-node (CPU provider). Used for the parity check inside
 * `fit.cpcv`, by nightly scoring, tests and benchmarks. onnxruntime-node is imported lazily.
 */
export interface OnnxScorer {
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Runs the model on a row-major float32 matrix `nrow × ncol` fed to input `X`; returns every output's data. */
  run(x: Float32Array, nrow: number, ncol: number): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

/** Opens an inference session on model bytes or a file path (intra-op threads default 1). */
export async function openOnnxScorer(model: Uint8Array | string, opts: { threads?: number } = {}): Promise<OnnxScorer> {
  const ort = await import('onnxruntime-node');
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: opts.threads ?? 1 })
      : await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: opts.threads ?? 1 });
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(x, nrow, ncol) {
      if (x.length !== nrow * ncol) throw new Error(`ONNX scoring: ${x.length} values for ${nrow}×${ncol}`);
      const out = await session.run({ X: new ort.Tensor('float32', x, [nrow, ncol]) });
      const res: Record<string, Float32Array> = {};
      for (const name of session.outputNames) res[name] = out[name]!.data as Float32Array;
      return res;
    },
    release: () => session.release(),
  };
}

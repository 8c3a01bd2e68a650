/**
 * Set-up of a gpu worker's XGBoost: binds the libxgboost named by TRADEML_GPU_XGBOOST_LIB (else
 * TRADEML_XGBOOST_LIB; `wheel`, `debian` or a path — a CUDA build such as the one inside the full
 * `xgboost` PyPI wheel, `xgboost/lib/libxgboost.so`) and probes CUDA with a one-round fit on a tiny
 * matrix. With CUDA it sets TRADEML_XGBOOST_DEVICE=cuda for the steps this process runs; without
 * it says so in one line and the steps run on the CPU. Note: `bash scripts/native.sh` installs
 * the CPU-only `xgboost-cpu` wheel and Debian's libxgboost0 is CPU-only too; neither has CUDA.
 */
import { existsSync } from 'node:fs';
import koffi from 'koffi';
import { errorMessage } from '../lib/errors.ts';

/** libxgboost's build flags (XGBuildInfo, XGBoost ≥ 1.6): USE_CUDA tells a CUDA build. */
export function buildInfo(libPath: string): Record<string, unknown> {
  try {
    const fn = koffi.load(libPath).func('int XGBuildInfo(_Out_ const char **out)');
    const out = [null as unknown as string];
    if (fn(out) !== 0 || !out[0]) return {};
    return JSON.parse(out[0]) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** What the probe found. */
export interface GpuSetup {
  device: 'cuda' | 'cpu';
  library: string;
  version: string;
  /** The one line the worker logs. */
  line: string;
}

/**
 * Chooses the library, probes CUDA and sets TRADEML_XGBOOST_DEVICE (`cuda` or `cpu`) in `env`.
 * Never throws for a missing GPU; throws the binding's error when no libxgboost loads at all.
 */
export async function configureGpuXGBoost(env: NodeJS.ProcessEnv = process.env): Promise<GpuSetup> {
  const { Booster, DMatrix, useXGBoostLibrary, xgboostApi } = await import('../models/xgboost/binding.ts');
  const choice = env.TRADEML_GPU_XGBOOST_LIB?.trim() || env.TRADEML_XGBOOST_LIB?.trim();
  if (choice) useXGBoostLibrary(choice);
  const api = xgboostApi();
  const build = buildInfo(api.libPath);
  let device: GpuSetup['device'] = 'cpu';
  let why = '';
  if (build.USE_CUDA !== true) why = `built without CUDA (USE_CUDA=${String(build.USE_CUDA ?? 'unknown')})`;
  else if (!existsSync('/dev/nvidia0') && !existsSync('/dev/dxg')) why = 'built with CUDA, but no GPU is visible (/dev/nvidia0 missing)';
  else {
    const major = Number(api.version.split('.')[0]);
    // XGBoost ≥ 2 selects the GPU with device=cuda; 1.7 with tree_method=gpu_hist
    const params: Record<string, string> = major >= 2 ? { device: 'cuda', tree_method: 'hist' } : { tree_method: 'gpu_hist' };
    const d = new DMatrix(new Float32Array([0, 1, 1, 0, 1, 1, 0, 0]), 4, 2, { label: new Float32Array([0, 1, 1, 0]) });
    try {
      const b = new Booster(params, [d]);
      try {
        b.updateOneIter(0, d);
        device = 'cuda';
      } finally {
        b.free();
      }
    } catch (e) {
      why = errorMessage(e).split('\n')[0]!.slice(0, 200);
    } finally {
      d.free();
    }
  }
  env.TRADEML_XGBOOST_DEVICE = device;
  const lib = `libxgboost ${api.version} (${api.libPath})`;
  const line = device === 'cuda' ? `gpu worker: XGBoost on CUDA — ${lib}, device=cuda` : `gpu worker: no CUDA GPU usable by ${lib} (${why}); gpu steps run on the CPU`;
  return { device, library: api.libPath, version: api.version, line };
}

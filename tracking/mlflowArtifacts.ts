import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { normaliseArtifactPath } from './local.ts';
import { toTrackerError } from './mlflowErrors.ts';
import type { MlflowRest } from './mlflowRest.ts';
import type { MlflowRuns } from './mlflowRuns.ts';
import { TrackerError, type ArtifactFile, type Tracker } from './types.ts';

/**
 * Run artifacts of the MLflow REST tracker, through the server's artifact proxy
 * (`/api/2.0/mlflow-artifacts/artifacts/...`, `--serve-artifacts`, the default since MLflow 2.0).
 * A run whose artifact URI is not `mlflow-artifacts:` is refused with an error that says how to fix it.
 */

type ArtifactsApi = Pick<Tracker, 'logArtifact' | 'downloadArtifact' | 'listArtifacts'>;

const PROXY = 'api/2.0/mlflow-artifacts/artifacts';

export class MlflowArtifacts implements ArtifactsApi {
  constructor(
    private readonly rest: MlflowRest,
    private readonly runs: Pick<MlflowRuns, 'artifactUri'>,
  ) {}

  /** Relative path of a run's artifact root under the mlflow-artifacts proxy. */
  private async artifactRoot(runId: string): Promise<string> {
    await this.rest.serverVersion();
    const uri = await this.runs.artifactUri(runId);
    const m = /^mlflow-artifacts:(?:\/\/[^/]+)?\/?(.*)$/.exec(uri);
    if (!m) {
      throw new TrackerError(
        `run ${runId} stores artifacts at ${uri}, which the tracking server at ${this.rest.location} does not proxy (its experiment was created with that artifact location, or the server has no --serve-artifacts), so TradeML cannot upload there. ` +
          `Start MLflow with --serve-artifacts (the default since 2.0) and --artifacts-destination <folder or s3://bucket/prefix>, and log to an experiment whose artifact location is mlflow-artifacts:/… (a new experiment name, or recreate this one); see docs/servers.md`,
        'ARTIFACTS_NOT_PROXIED',
      );
    }
    return m[1]!.replace(/\/+$/, '');
  }

  /** Proxy URL of the artifact at `artifactPath` of a run. */
  private async artifactUrl(runId: string, artifactPath: string): Promise<string> {
    const rel = `${await this.artifactRoot(runId)}/${normaliseArtifactPath(artifactPath)}`;
    return `${PROXY}/${rel.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** `transfer()`, its failure as a TrackerError naming the proxy endpoint. */
  private async proxied<T>(method: 'GET' | 'PUT', transfer: () => Promise<T>): Promise<T> {
    try {
      return await transfer();
    } catch (err) {
      throw toTrackerError(err, method, 'mlflow-artifacts/artifacts', this.rest.location);
    }
  }

  async logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void> {
    const url = await this.artifactUrl(runId, artifactPath);
    await this.proxied('PUT', async () => (await this.rest.http()).put(url, { body: readFileSync(localPath), headers: { 'content-type': 'application/octet-stream' } }));
  }

  async downloadArtifact(runId: string, artifactPath: string, destPath: string): Promise<void> {
    const url = await this.artifactUrl(runId, artifactPath);
    const body = await this.proxied('GET', async () => (await this.rest.http()).get(url).buffer());
    mkdirSync(path.dirname(path.resolve(destPath)), { recursive: true });
    writeFileSync(destPath, body);
  }

  async listArtifacts(runId: string, dir = ''): Promise<ArtifactFile[]> {
    const root = await this.artifactRoot(runId);
    const sub = dir ? normaliseArtifactPath(dir) : '';
    const r = await this.proxied('GET', async () => (await this.rest.http()).get(PROXY, { searchParams: { path: sub ? `${root}/${sub}` : root } }).json<{ files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }> }>());
    return (r.files ?? []).map((f) => ({
      path: sub ? `${sub}/${path.posix.basename(f.path)}` : path.posix.basename(f.path),
      isDir: Boolean(f.is_dir),
      fileSize: f.file_size === undefined ? undefined : Number(f.file_size),
    }));
  }
}

/**
 * Temporal connection settings from the environment, shared by the CLI (client) and the workers.
 *
 *   TEMPORAL_ADDRESS          host:port of the frontend (default localhost:7233)
 *   TEMPORAL_NAMESPACE        namespace (default `default`)
 *   TEMPORAL_TLS_CERT / _KEY  paths of the client certificate and key (mTLS)
 *   TEMPORAL_TLS_CA           path of a CA certificate for the server (optional)
 *   TEMPORAL_TLS_SERVER_NAME  server name override (optional)
 *   TEMPORAL_TLS              `true` to use TLS without client certificates (implied by an API key)
 *   TEMPORAL_API_KEY          API key (Temporal Cloud); never logged
 *   TRADEML_TASK_QUEUE_PREFIX task-queue prefix (default `trademl` → `trademl-cpu`, `trademl-gpu`)
 *   TRADEML_TEMPORAL_SEARCH_ATTRIBUTES  `true` to set the TradeML search attributes on runs
 *                             (only when the namespace has them, see docs/temporal.md)
 */
import { readFileSync, existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { UserError } from '../lib/errors.ts';
import { DEFAULT_TASK_QUEUE_PREFIX } from './queues.ts';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueuePrefix: string;
  /** `false`: plain TCP; otherwise a TLS config (possibly empty: system roots). */
  tls: TLSConfig | false;
  apiKey?: string;
  /** Whether runs carry the TradeML custom search attributes (the namespace must declare them). */
  searchAttributes: boolean;
}

/** Reads {@link TemporalSettings} from an environment. Throws UserError for unreadable TLS files. */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS?.trim() || 'localhost:7233';
  const namespace = env.TEMPORAL_NAMESPACE?.trim() || 'default';
  const apiKey = env.TEMPORAL_API_KEY?.trim() || undefined;
  const read = (name: string): Buffer | undefined => {
    const p = env[name]?.trim();
    if (!p) return undefined;
    if (!existsSync(p)) throw new UserError(`${name} points to ${p}, which does not exist — set it to the path of a PEM file`);
    return readFileSync(p);
  };
  const crt = read('TEMPORAL_TLS_CERT');
  const key = read('TEMPORAL_TLS_KEY');
  const ca = read('TEMPORAL_TLS_CA');
  if (Boolean(crt) !== Boolean(key)) throw new UserError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (client certificate and its key)');
  const serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME?.trim() || undefined;
  const wantTls = Boolean(crt || ca || apiKey || serverNameOverride) || /^(1|true|yes)$/i.test(env.TEMPORAL_TLS ?? '');
  const tls: TLSConfig | false = wantTls
    ? {
        ...(crt && key ? { clientCertPair: { crt, key } } : {}),
        ...(ca ? { serverRootCACertificate: ca } : {}),
        ...(serverNameOverride ? { serverNameOverride } : {}),
      }
    : false;
  return {
    address,
    namespace,
    taskQueuePrefix: env.TRADEML_TASK_QUEUE_PREFIX?.trim() || DEFAULT_TASK_QUEUE_PREFIX,
    tls,
    apiKey,
    searchAttributes: /^(1|true|yes)$/i.test(env.TRADEML_TEMPORAL_SEARCH_ATTRIBUTES ?? ''),
  };
}

/** A one-line description safe for logs: address, namespace, prefix, TLS mode; never key material. */
export function describeSettings(s: TemporalSettings): string {
  const tls = s.tls === false ? 'off' : s.tls.clientCertPair ? 'mTLS' : 'on';
  return `address=${s.address} namespace=${s.namespace} queues=${s.taskQueuePrefix}-cpu,${s.taskQueuePrefix}-gpu tls=${tls} api_key=${s.apiKey ? 'set' : 'unset'}`;
}

/** Connection options for `Connection.connect` / `NativeConnection.connect` (same shape in both). */
export function connectionOptions(s: TemporalSettings): { address: string; tls?: TLSConfig; apiKey?: string } {
  return {
    address: s.address,
    ...(s.tls === false ? {} : { tls: s.tls }),
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
  };
}

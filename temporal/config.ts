/**
 * Temporal connection settings, shared by the CLI (client) and the workers, read the way every
 * Temporal SDK and the `temporal` CLI read them (`@temporalio/envconfig`): a profile of the TOML
 * config file (`TEMPORAL_CONFIG_FILE`, default `~/.config/temporalio/temporal.toml`; profile
 * `TEMPORAL_PROFILE`, default `default`), overridden by Temporal's standard environment names:
 *
 *   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS (true|false),
 *   TEMPORAL_TLS_CLIENT_CERT_PATH / _DATA, TEMPORAL_TLS_CLIENT_KEY_PATH / _DATA,
 *   TEMPORAL_TLS_SERVER_CA_CERT_PATH / _DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_<NAME>
 *
 * plus TradeML's own: TRADEML_TASK_QUEUE_PREFIX (default `trademl` → `trademl-cpu`, `trademl-gpu`)
 * and TRADEML_TEMPORAL_SEARCH_ATTRIBUTES (`false` turns the TradeML search attributes off).
 * Unset address: localhost:7233; unset namespace: `default`. An API key implies TLS.
 * Nothing here ever prints a key, a certificate or a metadata value ({@link describeSettings}).
 */
import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { UserError, errorMessage } from '../lib/errors.ts';
import { DEFAULT_TASK_QUEUE_PREFIX } from './queues.ts';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueuePrefix: string;
  /** `false`: plain TCP; otherwise a TLS config (possibly empty: system roots). */
  tls: TLSConfig | false;
  apiKey?: string;
  /** gRPC metadata sent with every call (TEMPORAL_GRPC_META_*, profile `grpc_meta`). */
  metadata?: Record<string, string>;
  /** Where the settings came from, for logs (profile name and file, or the environment only). */
  source: string;
  /** Whether runs carry the TradeML custom search attributes (registered on first use, see search-attributes.ts). */
  searchAttributes: boolean;
}

/** Names TradeML read before it used Temporal's standard ones: refused with the name to use instead. */
const RENAMED: Record<string, string> = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
};

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/**
 * Reads {@link TemporalSettings} from the config-file profile and the environment (`env`, default
 * the process's). Throws a UserError for a renamed variable, an unknown profile, an unreadable
 * TLS file or a client certificate without its key (naming the variable, never its content).
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (env[old]?.trim()) throw new UserError(`${old} is not a Temporal variable; use ${now} (Temporal's standard name, also read by the temporal CLI)`);
  }
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  const profile = vars.TEMPORAL_PROFILE;
  for (const [name, value] of Object.entries(vars)) {
    if (/^TEMPORAL_TLS_(CLIENT_CERT|CLIENT_KEY|SERVER_CA_CERT)_PATH$/.test(name) && !existsPath(value)) {
      throw new UserError(`${name} points to ${value}, which does not exist — set it to the path of a PEM file`);
    }
  }
  const certSet = Boolean(vars.TEMPORAL_TLS_CLIENT_CERT_PATH || vars.TEMPORAL_TLS_CLIENT_CERT_DATA);
  const keySet = Boolean(vars.TEMPORAL_TLS_CLIENT_KEY_PATH || vars.TEMPORAL_TLS_CLIENT_KEY_DATA);
  if (certSet !== keySet) throw new UserError('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together (client certificate and its key)');
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: vars, ...(profile ? { profile } : {}) });
  } catch (e) {
    throw new UserError(`cannot read the Temporal client configuration${profile ? ` (profile "${profile}")` : ''}: ${errorMessage(e)} — check TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE or the TEMPORAL_* variables`);
  }
  const c = loaded.connectionOptions;
  const tls = toTls(c.tls);
  if (tls && tls.clientCertPair && (!tls.clientCertPair.crt?.length || !tls.clientCertPair.key?.length)) throw new UserError('the client certificate or its key is empty');
  const file = vars.TEMPORAL_CONFIG_FILE ?? '~/.config/temporalio/temporal.toml';
  return {
    address: c.address?.trim() || 'localhost:7233',
    namespace: loaded.namespace?.trim() || 'default',
    taskQueuePrefix: vars.TRADEML_TASK_QUEUE_PREFIX?.trim() || DEFAULT_TASK_QUEUE_PREFIX,
    tls,
    ...(c.apiKey ? { apiKey: c.apiKey } : {}),
    ...(c.metadata && Object.keys(c.metadata).length ? { metadata: c.metadata as Record<string, string> } : {}),
    source: `profile ${profile ?? 'default'} (${file}) + TEMPORAL_* environment`,
    searchAttributes: !FALSE.test(vars.TRADEML_TEMPORAL_SEARCH_ATTRIBUTES ?? ''),
  };
}

function existsPath(p: string): boolean {
  return existsSync(p);
}

function toTls(t: unknown): TLSConfig | false {
  if (t === undefined || t === false || t === null) return false;
  if (t === true) return {};
  const c = t as TLSConfig;
  const buf = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b));
  const out: TLSConfig = {};
  if (c.serverNameOverride) out.serverNameOverride = c.serverNameOverride;
  if (c.serverRootCACertificate) out.serverRootCACertificate = buf(c.serverRootCACertificate);
  if (c.clientCertPair) out.clientCertPair = { crt: buf(c.clientCertPair.crt)!, key: buf(c.clientCertPair.key)! };
  return out;
}

/** A one-line description safe for logs: address, namespace, prefix, TLS mode, whether a key is set; never key material. */
export function describeSettings(s: TemporalSettings): string {
  const tls = s.tls === false ? 'off' : s.tls.clientCertPair ? 'mTLS' : 'on';
  const meta = s.metadata ? ` grpc_meta=${Object.keys(s.metadata).sort().join(',')}` : '';
  return `address=${s.address} namespace=${s.namespace} queues=${s.taskQueuePrefix}-cpu,${s.taskQueuePrefix}-gpu tls=${tls} api_key=${s.apiKey ? 'set' : 'unset'}${meta}`;
}

/** Connection options for `Connection.connect` / `NativeConnection.connect` (same shape in both). */
export function connectionOptions(s: TemporalSettings): { address: string; tls: TLSConfig | false; apiKey?: string; metadata?: Record<string, string> } {
  return {
    address: s.address,
    // explicit false: the SDKs turn TLS on by themselves when an API key is set and `tls` is absent
    tls: s.tls,
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    ...(s.metadata ? { metadata: s.metadata } : {}),
  };
}

/** True when an env value reads as on (`1`, `true`, `yes`, `on`). */
export function envFlag(v: string | undefined): boolean {
  return TRUE.test(v ?? '');
}

/** Temporal client for the CLI and tests: connection from the environment (see ./config.ts). */
import { Client, Connection } from '@temporalio/client';
import { UserError, errorMessage } from '../lib/errors.ts';
import { connectionOptions, temporalSettingsFromEnv, type TemporalSettings } from './config.ts';
import { ensureSearchAttributes } from './search-attributes.ts';

/**
 * Connects to the Temporal frontend described by `settings` (default: the environment) and, when
 * search attributes are on, registers TradeML's (turned off, with one line on stderr saying how
 * to add them, where the namespace refuses). Throws a UserError naming the address (never
 * credentials) when the server cannot be reached.
 */
export async function connectClient(settings: TemporalSettings = temporalSettingsFromEnv()): Promise<{ client: Client; connection: Connection; settings: TemporalSettings }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '10s' });
  } catch (e) {
    throw new UserError({ message: `cannot connect to Temporal at ${settings.address} (namespace ${settings.namespace}): ${errorMessage(e)} — start one with \`bash scripts/servers/up.sh && . .servers/env\` (or \`temporal server start-dev\`) or set TEMPORAL_ADDRESS`, exitCode: 1 });
  }
  let s = settings;
  if (s.searchAttributes) {
    const r = await ensureSearchAttributes(connection, s.namespace);
    if (!r.ok) {
      process.stderr.write(`warning: ${r.problem}\n  (runs go without TradeML search attributes; TRADEML_TEMPORAL_SEARCH_ATTRIBUTES=false silences this)\n`);
      s = { ...s, searchAttributes: false };
    }
  }
  return { client: new Client({ connection, namespace: s.namespace }), connection, settings: s };
}

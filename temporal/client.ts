/** Temporal client for the CLI and tests: connection from the environment (see ./config.ts). */
import { Client, Connection } from '@temporalio/client';
import { UserError, errorMessage } from '../lib/errors.ts';
import { connectionOptions, temporalSettingsFromEnv, type TemporalSettings } from './config.ts';

/**
 * Connects to the Temporal frontend described by `settings` (default: the environment). Throws a
 * UserError naming the address (never credentials) when the server cannot be reached.
 */
export async function connectClient(settings: TemporalSettings = temporalSettingsFromEnv()): Promise<{ client: Client; connection: Connection; settings: TemporalSettings }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '10s' });
  } catch (e) {
    throw new UserError({ message: `cannot connect to Temporal at ${settings.address} (namespace ${settings.namespace}): ${errorMessage(e)} — start one with \`temporal server start-dev\` or set TEMPORAL_ADDRESS`, exitCode: 1 });
  }
  return { client: new Client({ connection, namespace: settings.namespace }), connection, settings };
}

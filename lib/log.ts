import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The process logger (pino). JSON lines on stderr when TRADEML_LOG_FORMAT=json (or in CI),
 * otherwise quiet by default (`warn`) so CLI progress stays readable; TRADEML_LOG_LEVEL overrides.
 */
export const logger: Logger = pino(
  { level: process.env.TRADEML_LOG_LEVEL ?? 'warn', base: undefined, redact: ['token', 'password', 'authorization', '*.token', '*.password', '*.authorization'] },
  pino.destination(2),
);

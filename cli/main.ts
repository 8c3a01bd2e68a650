import { Command, CommanderError, Option } from 'commander';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError, errorMessage } from '../lib/errors.ts';
import { registerCoreCommands } from './core.ts';

/**
 * `trademl` CLI. Core commands (validate, run, runs, status, logs, retry, resume, approve, reject,
 * schema) live in cli/core.ts; every other concern adds its subcommands from a file in
 * cli/commands/ exporting `register(program)`. Exit codes: 0 ok, 1 failed run, 2 usage/bad input.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('trademl')
    .description('TradeML: declarative pipelines from market data to governed, promoted trading models')
    .addOption(new Option('--home <dir>', 'state folder (run DB, artifacts, logs)').env('TRADEML_HOME'))
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerCoreCommands(program);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { register?: (p: Command) => void };
    if (typeof mod.register !== 'function') throw new Error(`cli/commands/${f} does not export register(program)`);
    mod.register(program);
  }
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UserError) {
      process.stderr.write(`error: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    if (process.env.TRADEML_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return 1;
  }
}

const code = await main(process.argv);
// flush stdout/stderr (pipes) before exiting; open handles (DuckDB, workers) must not keep us alive
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

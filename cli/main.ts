import { Command, CommanderError, Option } from 'commander';
import { UserError, errorMessage } from '../lib/errors.ts';
import { registerCoreCommands } from './core.ts';
import { registerCommandFiles } from './load.ts';

/**
 * `trademl` CLI. Core commands (validate, run, runs, status, logs, retry, resume, approve, reject,
 * schema) live in cli/core.ts; every other concern adds its subcommands from a file in
 * cli/commands/ exporting `register(program)` (the file named after its command: cli/load.ts). Exit codes: 0 ok, 1 failed run, 2 usage/bad input.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('trademl')
    .description('TradeML: declarative pipelines from market data to governed, promoted trading models')
    .addOption(new Option('--home <dir>', 'state folder (run DB, artifacts, logs)').env('TRADEML_HOME'))
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerCoreCommands(program);
  await registerCommandFiles(program, argv);
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

/**
 * Which of cli/commands/*.ts a CLI invocation loads. `cli/commands/<name>.ts` registers the top-level
 * command `<name>` (and only it; test/e2e/cli_load.test.ts holds every file to that).
 */
import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const COMMANDS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');
/** `.ts` from source, `.js` in the compiled tree (dist/compiled). */
const EXT = path.extname(fileURLToPath(import.meta.url));

/** The first argument that is not an option (nor the value of `--home`): the command's name. */
function commandName(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--home') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * The command files to load: `cli/commands/<name>.ts` registers the top-level command `<name>`, so a
 * core command loads none of them, `trademl <name> …` loads only that one (the Temporal client,
 * the S3 SDK and the rest stay unloaded: a fully cached `trademl run` starts faster), and help, no
 * command or an unknown one loads them all (help lists every command, typos get suggestions).
 */
export function commandFiles(argv: string[], program: Command): string[] {
  const all = readdirSync(COMMANDS).filter((f) => f.endsWith(EXT)).sort();
  const name = commandName(argv);
  if (name === undefined || name === 'help') return all;
  if (program.commands.some((c) => c.name() === name)) return [];
  return all.includes(`${name}${EXT}`) ? [`${name}${EXT}`] : all;
}

/**
 * Imports the command files {@link commandFiles} picks for `argv` and calls each one's
 * `register(program)`. Throws when a file does not export `register`.
 */
export async function registerCommandFiles(program: Command, argv: string[]): Promise<void> {
  for (const f of commandFiles(argv, program)) {
    const mod = (await import(pathToFileURL(path.join(COMMANDS, f)).href)) as { register?: (p: Command) => void };
    if (typeof mod.register !== 'function') throw new Error(`cli/commands/${f} does not export register(program)`);
    mod.register(program);
  }
}

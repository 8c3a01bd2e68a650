import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../lib/errors.ts';
import { digestJson } from '../lib/hash.ts';
import { checkOhlcvContract } from './contract-checks.ts';
import { datasetContractSchema, type DatasetContract } from './contract-schema.ts';
import { parseWithSchema, positionOf, readYamlFile } from './yaml-issues.ts';

/**
 * Dataset contracts: one YAML file per dataset under `configs/data/<name>.yml` (schemas in
 * data/contract-schema.ts). `configs/data/audit.yml` holds the default audit thresholds; a
 * contract's `audit:` block overrides them per dataset; `configs/data/calendars/` holds exchange
 * holiday lists. Users add datasets without code (`trademl data init` drafts a contract).
 */

export * from './contract-schema.ts';
export { parseWithSchema, readYamlFile } from './yaml-issues.ts';

/** A loaded contract: the parsed value, the YAML file it came from and its content digest. */
export interface LoadedContract<C extends DatasetContract = DatasetContract> {
  contract: C;
  file: string;
  digest: string;
}

/** Folder of dataset contracts in a checkout. */
export function contractsDir(projectRoot: string): string {
  return path.join(projectRoot, 'configs', 'data');
}

/** Names of the dataset contracts in `configs/data/` (every `*.yml` except `audit.yml`), sorted. */
export function listDatasets(projectRoot: string): string[] {
  const dir = contractsDir(projectRoot);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^audit\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

/**
 * Loads and validates `configs/data/<name>.yml` (relative to `projectRoot`).
 * Throws UserError when the file is missing (listing the known datasets), on YAML syntax errors,
 * on schema violations or inconsistent OHLCV settings (file:line:col field: message), or when
 * `name:` differs from the file name.
 */
export function loadDatasetContract(projectRoot: string, name: string): LoadedContract {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UserError(`bad dataset name ${JSON.stringify(name.slice(0, 60))}: use letters, digits, _ . -`);
  const dir = contractsDir(projectRoot);
  const file = [path.join(dir, `${name}.yml`), path.join(dir, `${name}.yaml`)].find((f) => existsSync(f));
  if (!file || name === 'audit') {
    const known = listDatasets(projectRoot);
    throw new UserError(`no dataset contract "${name}" in ${dir}; known datasets: ${known.join(', ') || '(none)'} (trademl data init <folder> drafts one)`);
  }
  return loadContractFile(file, name);
}

/** Loads and validates one contract file; `expectedName` (when given) must equal its `name:`. */
export function loadContractFile(file: string, expectedName?: string): LoadedContract {
  const { value, doc, text } = readYamlFile(file);
  const contract = parseWithSchema(datasetContractSchema, value, file, doc, text);
  if (expectedName !== undefined && contract.name !== expectedName) {
    const pos = positionOf(doc, text, ['name']);
    throw new UserError(`${file}${pos ? `:${pos}` : ''}: name "${contract.name}" does not match the file name (expected name: ${expectedName})`);
  }
  if (contract.kind === 'ohlcv') checkOhlcvContract(contract, (p) => `${file}${positionOf(doc, text, p) ? `:${positionOf(doc, text, p)}` : ''}`);
  return { contract, file, digest: digestJson(contract) };
}

/** Expands `{symbol}` placeholders of a contract's globs over its declared symbols. */
export function expandGlobs(globs: string | string[], symbols?: string[]): string[] {
  const list = Array.isArray(globs) ? globs : [globs];
  const out: string[] = [];
  for (const g of list) {
    if (g.includes('{symbol}')) {
      if (!symbols?.length) throw new UserError(`source glob "${g}" uses {symbol} but the contract declares no symbols`);
      for (const s of symbols) out.push(g.replaceAll('{symbol}', s));
    } else out.push(g);
  }
  return out;
}

/** Regex source of a file-name glob: `*` any run, `?` one character (never `/`), the rest literal. */
export function globSource(glob: string): string {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return re;
}

/**
 * Absolute path of a source glob: relative globs are resolved against `dataRoot` and must stay
 * inside it (`..` that leaves the data root is refused); absolute globs are taken as written.
 * Throws UserError naming the glob.
 */
export function globPath(dataRoot: string, g: string): string {
  if (path.isAbsolute(g)) return path.normalize(g);
  const abs = path.resolve(dataRoot, g);
  const rel = path.relative(path.resolve(dataRoot), abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UserError(`source glob "${g}" leaves the data root ${dataRoot}; use a path inside it (or an absolute path)`);
  return abs;
}

/**
 * Resolves globs (relative to `dataRoot`, or absolute) to files, sorted by path, de-duplicated.
 * Wildcards (`*`, `?`) are allowed in the file-name part only. Throws a non-retryable error (via
 * `fail`) naming the glob and its folder when a glob matches nothing or its folder is missing.
 */
export function resolveFiles(dataRoot: string, globs: string[], fail: (msg: string) => never): string[] {
  const found = new Set<string>();
  for (const g of globs) {
    const abs = globPath(dataRoot, g);
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    if (/[*?]/.test(dir)) fail(`source glob "${g}": wildcards are only allowed in the file name`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`source folder ${dir} (from glob "${g}") does not exist; check the data root (${dataRoot}) or TRADEML_DATA_ROOT`);
    if (!/[*?]/.test(base)) {
      if (!existsSync(abs)) fail(`source file ${abs} (from "${g}") does not exist`);
      found.add(abs);
      continue;
    }
    const re = new RegExp(`^${globSource(base)}$`);
    const matches = readdirSync(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f));
    if (!matches.length) fail(`source glob "${g}" matches no files in ${dir} (empty folder or wrong pattern)`);
    for (const m of matches) found.add(m);
  }
  return [...found].sort();
}

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { UserError } from '../../lib/errors.ts';
import { loadContractFile } from '../contract.ts';
import { contractsDir } from '../contract.ts';
import { foldHeader } from '../headers.ts';
import { relToRoot } from '../source-files.ts';
import { guessCalendar } from './calendar-guess.ts';
import type { InitField } from './columns.ts';
import { adjustmentGuess, dateFormatsOf, NULL_TOKENS, numericTypes, sampleDates, sampleFolder, symbolSource, type SampledFile } from './draft.ts';

/**
 * `trademl data init <folder>`: reads a sample of the folder's files and writes a draft OHLCV
 * contract: columns mapped (with alternatives where files spell them differently, optional where
 * some files lack them), date format(s), symbol source, numeric types, null strings, an
 * adjustment guess and a calendar guess. Files that do not fit the majority's shape are left out
 * and listed in the draft's header comment with the reason. The draft is validated before it is
 * written, so it ingests without edits when the files are as sampled.
 */

/** Options of {@link draftContract}. */
export interface InitOptions {
  projectRoot: string;
  dataRoot: string;
  /** Folder of the files, relative to the data root or absolute. */
  folder: string;
  /** Dataset name (default: the folder name, lower-cased, `_` for other characters). */
  name?: string;
  maxFiles?: number;
  maxRows?: number;
}

/** A drafted contract: its YAML text, the parsed value, what was guessed and which files were left out. */
export interface Draft {
  name: string;
  yaml: string;
  notes: string[];
  excluded: { file: string; reason: string }[];
  files: number;
}

const FIELDS: InitField[] = ['date', 'symbol', 'open', 'high', 'low', 'close', 'volume', 'adj_close'];

/** Files sharing the majority's structure (delimiter, date/symbol presence); the others are excluded with a reason. */
function majority(files: SampledFile[]): { kept: SampledFile[]; excluded: { file: string; reason: string }[] } {
  const excluded: { file: string; reason: string }[] = [];
  const usable = files.filter((f) => {
    const missing = (['date', 'close'] as const).filter((k) => f.map[k] === undefined);
    if (missing.length) excluded.push({ file: f.rel, reason: `no ${missing.join(' or ')} column found in its header [${f.header.slice(0, 12).join(', ')}]` });
    return !missing.length;
  });
  const key = (f: SampledFile) => `${f.delimiter}|${f.map.symbol !== undefined}`;
  const counts = new Map<string, number>();
  for (const f of usable) counts.set(key(f), (counts.get(key(f)) ?? 0) + 1);
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const kept = usable.filter((f) => key(f) === best);
  for (const f of usable) {
    if (key(f) === best) continue;
    const why = f.delimiter !== best!.split('|')[0] ? `delimiter ${JSON.stringify(f.delimiter)} unlike the other files` : f.map.symbol !== undefined ? 'it has a symbol column and the other files do not' : 'it has no symbol column and the other files do';
    excluded.push({ file: f.rel, reason: why });
  }
  return { kept, excluded };
}

/** `columns` of the draft: per field the header spellings used (most frequent first) and the fields some files lack. */
function columnsOf(files: SampledFile[]): { columns: Record<string, string | string[]>; optional: string[] } {
  const columns: Record<string, string | string[]> = {};
  const optional: string[] = [];
  for (const k of FIELDS) {
    const names = new Map<string, { name: string; n: number }>();
    for (const f of files) {
      if (f.map[k] === undefined) continue;
      const h = f.header[f.map[k]!]!;
      const e = names.get(foldHeader(h)) ?? { name: h, n: 0 };
      e.n++;
      names.set(foldHeader(h), e);
    }
    if (!names.size) continue;
    const list = [...names.values()].sort((a, b) => b.n - a.n || a.name.localeCompare(b.name)).map((e) => e.name);
    columns[k] = list.length === 1 ? list[0]! : list;
    if (files.some((f) => f.map[k] === undefined)) optional.push(k);
  }
  return { columns, optional };
}

/** Drafts a contract for the files of a folder (nothing is written). Throws UserError when no file fits. */
export async function draftContract(o: InitOptions): Promise<Draft> {
  const s = sampleFolder(o.dataRoot, o.folder, o.maxFiles ?? 40, o.maxRows ?? 20000);
  const { kept, excluded } = majority(s.files);
  excluded.push(...s.skipped);
  if (!kept.length) throw new UserError(`data init: no file in ${s.dir} looks like daily OHLCV (each needs a date and a close column):\n${excluded.map((e) => `  - ${e.file}: ${e.reason}`).join('\n')}`);
  const formats = await dateFormatsOf(kept);
  for (const f of [...kept]) {
    if (formats.get(f.name)) continue;
    excluded.push({ file: f.rel, reason: `its dates match none of the known formats (e.g. ${JSON.stringify(f.values[f.map.date!]![0]?.slice(0, 30))})` });
    kept.splice(kept.indexOf(f), 1);
  }
  if (!kept.length) throw new UserError(`data init: no file in ${s.dir} has dates in a known format:\n${excluded.map((e) => `  - ${e.file}: ${e.reason}`).join('\n')}`);
  const excludedNames = new Set(excluded.map((e) => path.basename(e.file)));
  const names = s.names.filter((n) => !excludedNames.has(n));
  const sym = symbolSource(kept, names);
  const { columns, optional } = columnsOf(kept);
  const fmts = [...new Set(kept.map((f) => formats.get(f.name)!))];
  const dates = await sampleDates(kept, formats);
  const cal = guessCalendar(o.projectRoot, dates);
  const adj = adjustmentGuess(kept, formats);
  const types = numericTypes(kept);
  const nulls = NULL_TOKENS.filter((t) => t !== '' && kept.some((f) => f.values.some((col, i) => i !== f.map.date && col.some((v) => v.trim() === t))));
  const name = o.name ?? path.basename(s.dir).toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  const folderRel = relToRoot(o.dataRoot, s.dir);
  const excludedRel = s.names.filter((n) => !names.includes(n)).map((n) => `${folderRel}/${n}`);
  const files = sym.kind === 'file_name' ? `${folderRel}/${sym.pattern}` : `${folderRel}/*${path.extname(names[0]!)}`;
  const contract: Record<string, unknown> = {
    name,
    kind: 'ohlcv',
    description: `drafted by trademl data init from ${kept.length} sampled file(s) of ${folderRel}`,
    source: { files, ...(excludedRel.length ? { exclude: excludedRel } : {}), delimiter: kept[0]!.delimiter, null_values: ['', ...nulls], ...(optional.length ? { optional_columns: optional } : {}) },
    columns,
    date_format: fmts.length === 1 ? fmts[0] : fmts,
    ...(sym.kind === 'fixed' ? { symbol: sym.symbol } : {}),
    calendar: cal.calendar,
    adjustment: { prices: adj.prices },
  };
  const notes = [
    `symbol: ${sym.kind === 'column' ? `column ${JSON.stringify(columns.symbol)}` : sym.kind === 'fixed' ? `fixed ${sym.symbol} (one file)` : `from the file name, pattern ${sym.pattern}`}`,
    `date format: ${fmts.join(', ')}`,
    `calendar: ${cal.calendar} (${cal.note})`,
    `adjustment: ${adj.prices} (${adj.note})`,
    `numeric types: ${Object.entries(types).map(([k, t]) => `${k} ${t}`).join(', ')}`,
    ...kept.flatMap((f) => (f.guessed.length ? [`${f.rel}: guessed ${f.guessed.map((g) => `${g} = ${JSON.stringify(f.header[f.map[g]!])}`).join(', ')} — check it`] : [])),
  ];
  const header = [
    `# Draft dataset contract written by \`trademl data init ${o.folder}\` — review before use.`,
    ...notes.map((n) => `# ${n}`),
    ...(excluded.length ? ['# Left out (not like the other files):', ...excluded.map((e) => `#   ${e.file}: ${e.reason}`)] : []),
  ];
  const yaml = `${header.join('\n')}\n${stringify(contract, { lineWidth: 0 })}`;
  validateDraft(yaml, name);
  return { name, yaml, notes, excluded, files: names.length };
}

/** Parses a drafted YAML through the contract schema and checks (throws UserError when the draft is invalid). */
function validateDraft(yaml: string, name: string): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-init-'));
  try {
    const f = path.join(dir, `${name}.yml`);
    writeFileSync(f, yaml);
    loadContractFile(f, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a draft to configs/data/<name>.yml; refuses to overwrite unless `force`. Returns the path. */
export function writeDraft(projectRoot: string, d: Draft, force = false): string {
  const file = path.join(contractsDir(projectRoot), `${d.name}.yml`);
  if (existsSync(file) && !force) throw new UserError(`data init: ${file} exists; choose another --name or pass --force to overwrite it`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, d.yaml);
  return file;
}

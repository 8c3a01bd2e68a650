import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../lib/errors.ts';
import { globPath, globSource } from './contract.ts';

/**
 * Source files of a dataset, found and read safely: globs with `{symbol}` / `{date}` captures,
 * and a reader that refuses, without reading a byte, anything that is not a regular file (a FIFO
 * would hang the ingest; sockets, devices, folders) and symbolic links that leave the data root.
 * Each file is read once into memory: the bytes hashed are the bytes parsed.
 */

/** Why a source file was not used. */
export type FileFailureCode =
  | 'missing_file' | 'not_regular_file' | 'link_outside_root' | 'unreadable' | 'empty_file' | 'no_data_rows'
  | 'bad_encoding' | 'binary_content' | 'wrong_header' | 'missing_column' | 'malformed_record' | 'truncated'
  | 'bad_line_endings' | 'bad_file_name' | 'too_many_unparseable' | 'parser_error';

/** A source file that failed its contract: quarantined whole, never echoing its content. */
export interface FileFailure {
  /** Path relative to the data root (or absolute outside it). */
  rel: string;
  code: FileFailureCode;
  /** What is wrong and how to fix it, naming the file (and line when known). */
  reason: string;
  line?: number;
  /** Symbol / date the file name says the file holds (per-symbol / per-date layouts). */
  symbol?: string;
  date?: string;
}

/** A matched source file with what its name says. */
export interface SourceFile {
  abs: string;
  rel: string;
  /** The folder a link may not leave (the data root, or an absolute glob's folder). */
  root: string;
  symbol?: string;
  date?: string;
}

/** Path of `abs` relative to `root` when inside it, else the absolute path. */
export function relToRoot(root: string, abs: string): string {
  const r = path.relative(root, abs);
  return r.startsWith('..') || path.isAbsolute(r) ? abs : r.split(path.sep).join('/');
}

/** Regex of a file-name pattern with `{symbol}` / `{date}` captures (lazy symbol, so `{symbol}_data.csv` works). */
function patternRegExp(base: string): RegExp {
  const parts = base.split(/(\{symbol\}|\{date\})/);
  const src = parts.map((p) => (p === '{symbol}' ? '(?<symbol>[^/]+?)' : p === '{date}' ? '(?<date>[^/]+?)' : globSource(p))).join('');
  return new RegExp(`^${src}$`);
}

/**
 * Files matched by the contract's globs, sorted by path: `{symbol}` and `{date}` in a file name
 * capture the symbol / date; with declared `symbols`, `{symbol}` expands over them and a declared
 * symbol without a file is returned in `missing` (its file cannot be quarantined, but its loss is
 * recorded); files matching an `exclude` glob are left out. Throws UserError when a glob leaves the data root, its folder is missing, or it
 * matches nothing (naming the glob and the folder).
 */
export function resolveSources(dataRoot: string, globs: string[], symbols?: string[], exclude: string[] = []): { files: SourceFile[]; missing: FileFailure[] } {
  const byAbs = new Map<string, SourceFile>();
  const excluded = exclude.map((g) => {
    const abs = globPath(dataRoot, g);
    return { dir: path.dirname(abs), re: new RegExp(`^${globSource(path.basename(abs))}$`) };
  });
  const isExcluded = (f: string) => excluded.some((e) => e.dir === path.dirname(f) && e.re.test(path.basename(f)));
  const missing: FileFailure[] = [];
  for (const g of globs) {
    const abs = globPath(dataRoot, g);
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    const root = path.isAbsolute(g) && relToRoot(dataRoot, abs) === abs ? dir : dataRoot;
    if (/[*?{]/.test(dir)) throw new UserError(`source glob "${g}": wildcards and placeholders are only allowed in the file name`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`source folder ${dir} (from glob "${g}") does not exist; check the data root (${dataRoot}) or TRADEML_DATA_ROOT`);
    const names = readdirSync(dir);
    const patterns = base.includes('{symbol}') && symbols?.length ? symbols.map((s) => ({ s, re: patternRegExp(base.replaceAll('{symbol}', s.replace(/[{}]/g, ''))) })) : [{ s: undefined, re: patternRegExp(base) }];
    let matched = 0;
    for (const { s, re } of patterns) {
      const hits = names.filter((n) => re.test(n));
      if (!hits.length && s !== undefined) missing.push({ rel: relToRoot(dataRoot, path.join(dir, base.replaceAll('{symbol}', s))), code: 'missing_file', symbol: s, reason: `declared symbol ${s} has no source file matching "${g}"` });
      for (const n of hits) {
        const m = re.exec(n)!.groups ?? {};
        const f = path.join(dir, n);
        matched++;
        if (isExcluded(f)) continue;
        byAbs.set(f, { abs: f, rel: relToRoot(dataRoot, f), root, symbol: s ?? m.symbol, date: m.date });
      }
    }
    if (!matched && !missing.length) throw new UserError(`source glob "${g}" matches no files in ${dir} (empty folder or wrong pattern)`);
  }
  return { files: [...byAbs.values()].sort((a, b) => (a.abs < b.abs ? -1 : a.abs > b.abs ? 1 : 0)), missing: missing.sort((a, b) => (a.rel < b.rel ? -1 : 1)) };
}

function inside(root: string, p: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

/**
 * Reads a source file once, safely: a symbolic link must resolve inside `root`; the file is opened
 * non-blocking and must be a regular file (checked on the open descriptor, so a swap after the
 * check cannot slip a FIFO in). Returns the bytes, or a failure naming the file (nothing read).
 */
export function readSourceBytes(abs: string, rel: string, root: string): { buf: Buffer } | { failure: FileFailure } {
  const fail = (code: FileFailureCode, reason: string) => ({ failure: { rel, code, reason } });
  let target = abs;
  try {
    const l = lstatSync(abs);
    if (l.isSymbolicLink()) {
      target = realpathSync(abs);
      let realRoot = root;
      try {
        realRoot = realpathSync(root);
      } catch {
        /* keep root as given */
      }
      if (!inside(realRoot, target)) return fail('link_outside_root', `source file ${rel} is a symbolic link to a path outside the data root; it was not read (copy the file into the data root instead)`);
    } else if (!l.isFile()) {
      return fail('not_regular_file', `source file ${rel} is not a regular file (${kindOf(l)}); it was not read (remove it from the source folder)`);
    }
  } catch (e) {
    return fail('unreadable', `cannot read source file ${rel}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let fd: number;
  try {
    fd = openSync(target, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    return fail('unreadable', `cannot open source file ${rel}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return fail('not_regular_file', `source file ${rel} is not a regular file (${kindOf(st)}); it was not read (remove it from the source folder)`);
    return { buf: readFileSync(fd) };
  } catch (e) {
    return fail('unreadable', `cannot read source file ${rel}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    closeSync(fd);
  }
}

function kindOf(st: { isFIFO(): boolean; isSocket(): boolean; isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a plain file';
}

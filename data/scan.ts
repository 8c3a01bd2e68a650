import { createHash } from 'node:crypto';
import { StepError } from '../lib/errors.ts';
import { excerpt, headerExcerpt, normalizeHeaderName } from './headers.ts';
import { readSourceBytes, relToRoot, type FileFailure, type FileFailureCode } from './source-files.ts';

export { normalizeHeaderName } from './headers.ts';
export { relToRoot } from './source-files.ts';

/** What the structural pre-scan learnt about one raw CSV file. */
export interface ScannedFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the data root (as recorded in manifests and quarantine rows). */
  rel: string;
  /** sha256 of exactly the bytes read (and parsed). */
  sha256: string;
  bytes: number;
  /** Data records (lines after the header). */
  rows: number;
  /** Header names as read (trimmed), or null for header-less files. */
  header: string[] | null;
  /** The bytes DuckDB parses: the file as read, without a UTF-8 BOM and trailing blank lines. */
  data: Buffer;
}

/** Thrown for a structurally broken input file; names the file and line; never retried. */
export class InputFileError extends StepError {
  constructor(message: string, details?: unknown) {
    super({ message, type: 'InputFileError', nonRetryable: true, details });
  }
}

/** Options of the structural scan. */
export interface ScanOptions {
  delimiter: string;
  /** Exact header to require (compared normalised; `fold` compares case-insensitively), `false` = no header row, `'any'` = read it. */
  expectedHeader: string[] | false | 'any';
  /** Field count of header-less files. */
  expectedFields?: number;
  /** Compare header names case-insensitively. */
  fold?: boolean;
}

type ScanResult = { ok: true; header: string[] | null; rows: number; data: Buffer } | { ok: false; code: FileFailureCode; line?: number; reason: string };

/**
 * Structural check of delimited text held in memory, in one pass (RFC 4180 quoting, as DuckDB's
 * strict CSV reader parses it):
 * - UTF-8 validity (the line and byte of the first invalid sequence), no NUL bytes;
 * - the header row equals `expectedHeader` (names compared normalised);
 * - every record has the header's number of fields; a quote only opens a field, `""` escapes a
 *   quote inside a quoted field, a closing quote is followed by a delimiter or the line end; a
 *   short last record is reported as a truncated file; no bare carriage returns, no blank lines
 *   inside the file (blank lines at the end are ignored);
 * - the file is not empty.
 * Never throws; errors name the file and line and quote at most a short escaped excerpt.
 */
export function scanBuffer(buf: Buffer, rel: string, opts: ScanOptions): ScanResult {
  const bad = (code: FileFailureCode, reason: string, line?: number): ScanResult => ({ ok: false, code, reason, line });
  if (buf.length === 0) return bad('empty_file', `source file ${rel} is empty (0 bytes); re-download it or remove it from the source folder`);
  let start = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let end = buf.length;
  while (end > start && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  const nul = buf.indexOf(0, start);
  if (nul >= 0 && nul < end) return bad('binary_content', `source file ${rel} line ${countLines(buf, nul)}: NUL byte — the file is binary or corrupt, not CSV text`, countLines(buf, nul));
  const inv = firstInvalidUtf8(buf.subarray(0, end), start);
  if (inv >= 0) {
    const line = countLines(buf, inv);
    const lineStart = buf.lastIndexOf(0x0a, inv - 1) + 1;
    return bad('bad_encoding', `source file ${rel} is not valid UTF-8: line ${line}, byte ${inv - lineStart + 1} (0x${buf[inv]!.toString(16).padStart(2, '0')}); re-encode it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`, line);
  }
  if (end === start) return bad('empty_file', `source file ${rel} holds no text (only a byte-order mark or blank lines); re-download it`);
  const data = buf.subarray(start, end);
  const r = scanRecords(data, rel, opts);
  return r.ok ? { ...r, data } : r;
}

function scanRecords(d: Buffer, rel: string, opts: ScanOptions): ScanResult {
  const delim = opts.delimiter.charCodeAt(0);
  let expected = opts.expectedFields ?? (Array.isArray(opts.expectedHeader) ? opts.expectedHeader.length : 0);
  let header: string[] | null = null;
  let line = 1;
  let records = 0;
  let fields = 1;
  let lineStart = 0;
  let state: 'start' | 'unquoted' | 'quoted' | 'closed' = 'start';
  const quoteError = (msg: string): ScanResult => ({ ok: false, code: 'malformed_record', line, reason: `source file ${rel} line ${line}: ${msg} — malformed record; fix or remove this line` });
  const endRecord = (endPos: number, isLast: boolean): ScanResult | undefined => {
    const text = d.toString('utf8', lineStart, endPos).replace(/\r$/, '');
    if (text === '') return { ok: false, code: 'malformed_record', line, reason: `source file ${rel} line ${line}: blank line inside the file; remove it` };
    if (line === 1 && opts.expectedHeader !== false) {
      header = text.split(opts.delimiter).map(normalizeHeaderName);
      if (Array.isArray(opts.expectedHeader)) {
        const norm = (h: string) => (opts.fold ? normalizeHeaderName(h).toLowerCase() : normalizeHeaderName(h));
        const want = opts.expectedHeader.map(norm);
        const got = header.map(norm);
        if (got.length !== want.length || got.some((h, i) => h !== want[i])) {
          const missing = opts.expectedHeader.filter((h) => !got.includes(norm(h)));
          return {
            ok: false, code: 'wrong_header', line: 1,
            reason: `source file ${rel} line 1: wrong header ${headerExcerpt(header)}; the dataset contract expects [${opts.expectedHeader.join(', ')}]` +
              (missing.length ? ` (missing: ${missing.join(', ')})` : ' (same names, other order or count)') + ` — fix the file, or the contract's source.header`,
          };
        }
      }
      expected = header.length;
      return undefined;
    }
    if (!expected) expected = fields;
    if (fields !== expected) {
      const truncated = isLast && fields < expected;
      return {
        ok: false, code: truncated ? 'truncated' : 'malformed_record', line,
        reason: `source file ${rel} line ${line}: ${fields} field(s), expected ${expected}` +
          (truncated ? ' — the file looks truncated (last record cut short); re-download it' : ` — malformed record; fix or remove this line: ${excerpt(text, 60)}`),
      };
    }
    records++;
    return undefined;
  };
  for (let i = 0; i < d.length; i++) {
    const c = d[i]!;
    if (state === 'quoted') {
      if (c === 0x22) {
        if (d[i + 1] === 0x22) i++;
        else state = 'closed';
      }
      continue;
    }
    if (c === 0x0d && d[i + 1] !== 0x0a) return { ok: false, code: 'bad_line_endings', line, reason: `source file ${rel} line ${line}: bare carriage return (old Mac line endings or a stray CR); convert the file to LF or CRLF line endings` };
    if (c === delim) {
      fields++;
      state = 'start';
    } else if (c === 0x0a) {
      const err = endRecord(i, false);
      if (err) return err;
      line++;
      fields = 1;
      lineStart = i + 1;
      state = 'start';
    } else if (c === 0x22) {
      if (state === 'start') state = 'quoted';
      else return quoteError(state === 'closed' ? 'a quote inside a quoted field must be doubled ("")' : 'a quote inside an unquoted field (quote the whole field)');
    } else if (state === 'closed' && c !== 0x0d) return quoteError('text after the closing quote of a field');
    else if (state === 'start') state = 'unquoted';
  }
  if (state === 'quoted') return { ok: false, code: 'truncated', line, reason: `source file ${rel} line ${line}: unterminated quoted field — the file looks truncated; re-download it` };
  if (lineStart < d.length) {
    const err = endRecord(d.length, true);
    if (err) return err;
  }
  if (opts.expectedHeader !== false && header === null) return { ok: false, code: 'empty_file', line: 1, reason: `source file ${rel} has no header line` };
  return { ok: true, header, rows: records, data: d };
}

/** Reads (safely, once) and scans a file; returns the scanned file or its failure. */
export function scanSourceFile(abs: string, dataRoot: string, opts: ScanOptions, root = dataRoot): { file: ScannedFile } | { failure: FileFailure } {
  const rel = relToRoot(dataRoot, abs);
  const read = readSourceBytes(abs, rel, root);
  if ('failure' in read) return read;
  const r = scanBuffer(read.buf, rel, opts);
  if (!r.ok) return { failure: { rel, code: r.code, reason: r.reason, line: r.line } };
  const sha256 = 'sha256:' + createHash('sha256').update(read.buf).digest('hex');
  return { file: { abs, rel, sha256, bytes: read.buf.length, rows: r.rows, header: r.header, data: r.data } };
}

/**
 * Reads and scans one source file (see {@link scanBuffer}); returns its sha256 (of the bytes
 * read), record count, header and bytes. Throws InputFileError (non-retryable) naming the file
 * and line, with how to fix it; refuses FIFOs, devices and links leaving the data root unread.
 */
export function scanDelimitedFile(abs: string, dataRoot: string, opts: { delimiter: string; expectedHeader: string[] | false; expectedFields?: number }): ScannedFile {
  const r = scanSourceFile(abs, dataRoot, opts);
  if ('failure' in r) throw new InputFileError(r.failure.reason, { file: r.failure.rel, line: r.failure.line, code: r.failure.code });
  return r.file;
}

function countLines(buf: Buffer, end: number): number {
  let n = 1;
  for (let i = 0; i < end; i++) if (buf[i] === 0x0a) n++;
  return n;
}

/** Byte offset of the first invalid UTF-8 sequence in `buf` from `start`, or -1 (RFC 3629 rules). */
export function firstInvalidUtf8(buf: Uint8Array, start = 0): number {
  const n = buf.length;
  let i = start;
  while (i < n) {
    const c = buf[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= n) return i;
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const b = buf[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

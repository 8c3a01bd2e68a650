import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StepError } from '../lib/errors.ts';

/** What the structural pre-scan learnt about one raw CSV file. */
export interface ScannedFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the data root (as recorded in manifests and quarantine rows). */
  rel: string;
  sha256: string;
  bytes: number;
  /** Data records (lines after the header). */
  rows: number;
  /** Header names as read (trimmed), or null for header-less files. */
  header: string[] | null;
}

/** Thrown for a structurally broken input file; names the file and line; never retried. */
export class InputFileError extends StepError {
  constructor(message: string, details?: unknown) {
    super({ message, type: 'InputFileError', nonRetryable: true, details });
  }
}

/** Path of `abs` relative to `root` when inside it, else the absolute path. */
export function relToRoot(root: string, abs: string): string {
  const r = path.relative(root, abs);
  return r.startsWith('..') || path.isAbsolute(r) ? abs : r.split(path.sep).join('/');
}

/**
 * Structural check of a delimited text file before DuckDB reads it, in one pass over its bytes:
 * - UTF-8 validity (error names the line and byte column of the first invalid sequence);
 * - the header row equals `expectedHeader` (names compared after trimming spaces);
 * - every record has the same number of fields as the header (`expectedFields` for header-less
 *   files), quotes respected; a short last record is reported as a truncated file;
 * - the file is not empty.
 * Also returns the sha256 of the bytes and the record count.
 * Throws InputFileError (non-retryable) naming the file and line, with how to fix it.
 */
export function scanDelimitedFile(
  abs: string,
  dataRoot: string,
  opts: { delimiter: string; expectedHeader: string[] | false; expectedFields?: number },
): ScannedFile {
  const rel = relToRoot(dataRoot, abs);
  let buf: Buffer;
  try {
    buf = readFileSync(abs);
  } catch (e) {
    throw new InputFileError(`cannot read source file ${rel}: ${(e as Error).message}`);
  }
  const sha256 = 'sha256:' + createHash('sha256').update(buf).digest('hex');
  if (buf.length === 0) throw new InputFileError(`source file ${rel} is empty (0 bytes); re-download it or remove it from the source folder`);
  let start = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3; // UTF-8 BOM
  const bad = firstInvalidUtf8(buf, start);
  if (bad >= 0) {
    const line = countLines(buf, bad);
    const lineStart = buf.lastIndexOf(0x0a, bad - 1) + 1;
    throw new InputFileError(
      `source file ${rel} is not valid UTF-8: line ${line}, byte ${bad - lineStart + 1} (0x${buf[bad]!.toString(16).padStart(2, '0')}); ` +
        `re-encode it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`,
      { file: rel, line },
    );
  }
  const delim = opts.delimiter.charCodeAt(0);
  let fields = 1;
  let inQuotes = false;
  let line = 1;
  let lineStartPos = start;
  let records = 0;
  let header: string[] | null = null;
  let expected = opts.expectedFields ?? (opts.expectedHeader ? opts.expectedHeader.length : 0);
  const endRecord = (endPos: number, isLast: boolean) => {
    const empty = endPos === lineStartPos || (endPos === lineStartPos + 1 && buf[lineStartPos] === 0x0d);
    if (empty) {
      if (isLast) return;
      throw new InputFileError(`source file ${rel} line ${line}: empty line inside the file; remove it`, { file: rel, line });
    }
    if (line === 1 && opts.expectedHeader !== false) {
      header = buf.toString('utf8', lineStartPos, endPos).replace(/\r$/, '').split(opts.delimiter).map(normalizeHeaderName);
      const want = opts.expectedHeader.map(normalizeHeaderName);
      if (header.length !== want.length || header.some((h, i) => h !== want[i])) {
        throw new InputFileError(
          `source file ${rel} line 1: wrong header [${header.join(', ')}]; the dataset contract expects [${want.join(', ')}] ` +
            `(fix the file, or the contract's source.header)`,
          { file: rel, line: 1, header, expected: want },
        );
      }
      expected = header.length;
    } else {
      if (!expected) expected = fields;
      if (fields !== expected) {
        const text = buf.toString('utf8', lineStartPos, Math.min(endPos, lineStartPos + 200)).replace(/\r$/, '');
        const truncated = isLast && fields < expected;
        throw new InputFileError(
          `source file ${rel} line ${line}: ${fields} field(s), expected ${expected}` +
            (truncated ? ' — the file looks truncated (last record cut short); re-download it' : ' — malformed record; fix or remove this line') +
            `: "${text}"`,
          { file: rel, line, fields, expected },
        );
      }
      records++;
    }
  };
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x22) inQuotes = !inQuotes;
    else if (inQuotes) continue;
    else if (c === delim) fields++;
    else if (c === 0x0a) {
      endRecord(i, false);
      line++;
      fields = 1;
      lineStartPos = i + 1;
    }
  }
  if (inQuotes) throw new InputFileError(`source file ${rel} line ${line}: unterminated quoted field — the file looks truncated; re-download it`, { file: rel, line });
  if (lineStartPos < buf.length) endRecord(buf.length, true);
  if (opts.expectedHeader !== false && header === null) {
    throw new InputFileError(`source file ${rel} has no header line; expected [${opts.expectedHeader.join(', ')}]`, { file: rel, line: 1 });
  }
  return { abs, rel, sha256, bytes: buf.length, rows: records, header };
}

/** Header names are compared trimmed, unquoted, with inner whitespace runs collapsed to one space. */
export function normalizeHeaderName(h: string): string {
  return h.trim().replace(/^"(.*)"$/, '$1').trim().replace(/\s+/g, ' ');
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

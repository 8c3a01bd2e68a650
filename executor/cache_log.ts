import { closeSync, fstatSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

/** One step-cache record: a step's outputs or its deterministic failure, under its cache key. */
export interface CacheRecord {
  key: string;
  outputs?: unknown;
  failure?: { message: string; type: string; details?: unknown };
  [meta: string]: unknown;
}

const FILE = 'entries.jsonl';
const logs = new Map<string, CacheLog>();

/**
 * The step cache's entries as one append-only JSON-lines file, `<dir>/entries.jsonl`, indexed in
 * memory (the last record of a key wins). Creating a file costs 0.1–0.6 ms on this machine's ext4
 * (a directory entry and an inode, behind DuckDB's WAL syncs), an append ≈ 0.01 ms, which is what a
 * 1,000-step DAG of short steps notices.
 *
 * Several processes may share the file (embedded runs, Temporal workers on one machine): each
 * record is one `write` on an O_APPEND descriptor, and each process reads what the others appended
 * whenever it looks a key up. Every record starts and ends with a newline, so a record torn by a
 * killed process is one unreadable line, skipped (a cache miss, recomputed), never a corrupt entry.
 * On a shared filesystem without atomic appends (NFS, one TRADEML_HOME for several hosts), two hosts
 * appending at once can overwrite each other's record: that record is lost (a miss, recomputed),
 * never mixed into another. The file is not fsynced (neither were the per-entry files before it); a
 * record lost in a machine crash is a recomputation. A replaced or removed file (the home deleted and made again) is noticed
 * by its inode and read from the start.
 */
export class CacheLog {
  private fd: number | undefined;
  private ino = -1;
  private offset = 0;
  private readonly entries = new Map<string, CacheRecord>();
  private readonly file: string;

  private constructor(private readonly dir: string) {
    this.file = path.join(dir, FILE);
  }

  /** The process's log for `dir` (one descriptor and index per directory). */
  static of(dir: string): CacheLog {
    let log = logs.get(dir);
    if (!log) logs.set(dir, (log = new CacheLog(dir)));
    return log;
  }

  /** The latest record of `key`, reading what was appended since the last look first. */
  get(key: string): CacheRecord | undefined {
    this.refresh();
    return this.entries.get(key);
  }

  /** Appends a record (one write) and indexes it. */
  append(rec: CacheRecord): void {
    this.refresh();
    const fd = this.open();
    const buf = Buffer.from(`\n${JSON.stringify(rec)}\n`);
    // a short write on a regular file is rare; what is left is appended after it (a torn record is skipped on read)
    for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done);
    this.entries.set(rec.key, rec);
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    mkdirSync(this.dir, { recursive: true });
    const fd = openSync(this.file, 'a+');
    this.fd = fd;
    this.ino = fstatSync(fd).ino;
    this.offset = 0;
    this.entries.clear();
    return fd;
  }

  /** Reads the whole lines appended since the last read; starts over when the file was replaced. */
  private refresh(): void {
    let ino: number;
    try {
      ino = statSync(this.file).ino;
    } catch {
      ino = -1; // not written yet, or removed
    }
    if (this.fd !== undefined && ino !== this.ino) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (ino === -1 && this.fd === undefined) {
      this.entries.clear();
      return;
    }
    const fd = this.open();
    const size = fstatSync(fd).size;
    if (size <= this.offset) return;
    const buf = Buffer.allocUnsafe(size - this.offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, this.offset + got);
      if (n === 0) break;
      got += n;
    }
    const end = buf.lastIndexOf(10, got - 1); // up to the last newline: a record still being written waits
    if (end < 0) return;
    for (const line of buf.toString('utf8', 0, end).split('\n')) {
      if (!line) continue;
      let rec: CacheRecord;
      try {
        rec = JSON.parse(line) as CacheRecord;
      } catch {
        continue; // torn by a killed writer
      }
      if (rec && typeof rec.key === 'string') this.entries.set(rec.key, rec);
    }
    this.offset += end + 1;
  }
}

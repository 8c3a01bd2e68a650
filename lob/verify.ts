import { OrderBook } from './book.ts';
import type { LobSession } from './types.ts';

/** Result of {@link verifyAgainstSnapshots}. */
export interface SnapshotCheck {
  symbol: string;
  levels: number;
  /** Rows compared (all rows of the orderbook file). */
  rows: number;
  /** Rows where any of the 4·L entries differ. */
  mismatchedRows: number;
  /** Entries (price or size cells) that differ, over all rows. */
  mismatchedCells: number;
  /** 1-based row of the first mismatch, or null. */
  firstMismatch: number | null;
  /** Levels read from snapshots at the window edge after the seed (see lob/book.ts). */
  edgeRefills: number;
  /** Messages applied. */
  events: number;
}

/**
 * Rebuilds the book from the messages and compares it with every row of LOBSTER's orderbook file
 * (row k = the book after message k). The book is seeded from row 1 (the state after message 1,
 * one anonymous block per level); messages 2..n are applied in order and after each the visible
 * L levels (price and size of both sides) are compared cell by cell with row k. Row 1 is compared
 * too (it equals the seed by construction). Deterministic; throws BookReconstructionError when a
 * message cannot be applied.
 */
export function verifyAgainstSnapshots(s: LobSession): SnapshotCheck {
  const { book: snap, messages: m } = s;
  const L = snap.levels;
  const width = 4 * L;
  const row = new Int32Array(width);
  const book = OrderBook.fromSnapshot(snap, 0);
  let mismatchedRows = 0;
  let mismatchedCells = 0;
  let firstMismatch: number | null = null;
  for (let i = 0; i < snap.n; i++) {
    if (i > 0) book.apply(m, i, snap);
    book.writeVisible(row);
    const base = i * width;
    let bad = 0;
    for (let c = 0; c < width; c++) if (row[c] !== snap.data[base + c]) bad++;
    if (bad) {
      mismatchedRows++;
      mismatchedCells += bad;
      firstMismatch ??= i + 1;
    }
  }
  return { symbol: s.symbol, levels: L, rows: snap.n, mismatchedRows, mismatchedCells, firstMismatch, edgeRefills: book.edgeRefills, events: m.n - 1 };
}

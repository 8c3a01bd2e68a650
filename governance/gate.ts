/** One row of the gate table. */
export interface GateBar {
  /** Stable id, e.g. `sharpe`, `dsr`, `pbo`, `calibration.brier[sleeve]`. */
  id: string;
  description: string;
  /** Measured value (null when not applicable / not computable). */
  value: number | null;
  /** Comparator and threshold, e.g. `>=` 1.0. */
  op: '>=' | '<=' | '>' | '<' | 'info';
  threshold: number | null;
  /** true/false; null when the bar does not apply (then `note` says why). */
  pass: boolean | null;
  /** A failing blocking bar fails the gate; informational rows never do. */
  blocking: boolean;
  note?: string;
}

/** Evaluates `value op threshold`; non-finite values fail (they are never a pass by accident). */
export function compare(value: number, op: GateBar['op'], threshold: number): boolean {
  if (!Number.isFinite(value)) return false;
  switch (op) {
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '<':
      return value < threshold;
    default:
      return true;
  }
}

/** Builds a bar row, computing pass from value/op/threshold. */
export function makeBar(id: string, description: string, value: number | null, op: GateBar['op'], threshold: number | null, blocking: boolean, note?: string): GateBar {
  const pass = op === 'info' || threshold === null ? (value === null ? null : true) : value === null ? false : compare(value, op, threshold);
  return { id, description, value, op, threshold, pass: op === 'info' ? null : pass, blocking: op === 'info' ? false : blocking, note };
}

/** Blocking bars that failed (pass === false). */
export function failedBars(bars: readonly GateBar[]): GateBar[] {
  return bars.filter((b) => b.blocking && b.pass === false);
}

function fmt(v: number | null): string {
  if (v === null) return '—';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/** Plain-text table of the bars (the gate's failure message and log output). */
export function formatGateTable(bars: readonly GateBar[]): string {
  const rows = bars.map((b) => [b.pass === null ? 'n/a' : b.pass ? 'PASS' : 'FAIL', b.blocking ? 'blocking' : 'info', b.id, fmt(b.value), b.op === 'info' ? '' : `${b.op} ${fmt(b.threshold)}`, b.note ?? '']);
  const head = ['result', 'kind', 'bar', 'value', 'threshold', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

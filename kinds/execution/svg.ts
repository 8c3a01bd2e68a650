/**
 * Small self-contained SVG charts for the study report (no scripts, no external fonts): horizontal
 * bars with 95% interval whiskers, grouped columns and line charts. Every label is HTML-escaped;
 * non-finite values are skipped (and said so in the chart's note).
 */

/** Escapes text for HTML and SVG (element content and attribute values). */
export function esc(s: unknown): string {
  return String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const ok = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** A short number: integers exactly, other numbers to 4 significant digits (exponent form outside [1e-3, 1e5)). */
export function short(x: number | null | undefined): string {
  if (!ok(x)) return '—';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(+x.toPrecision(4));
}

function extent(values: number[], includeZero = true): [number, number] {
  const v = values.filter(ok);
  let lo = Math.min(...v, includeZero ? 0 : Infinity);
  let hi = Math.max(...v, includeZero ? 0 : -Infinity);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - (lo < 0 || !includeZero ? pad : 0), hi + pad];
}

function frame(id: string, title: string, w: number, h: number, body: string, note?: string): string {
  return `<figure class="chart" id="${esc(id)}"><svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${body}</svg><figcaption>${esc(title)}${note ? ` — ${esc(note)}` : ''}</figcaption></figure>`;
}

/** One bar of {@link barChart}: value with an optional 95% interval. */
export interface Bar {
  label: string;
  value: number | null;
  lo?: number | null;
  hi?: number | null;
  /** Colour group (index into the palette). */
  group?: number;
}

/** Horizontal bars (one per item) with interval whiskers; `unit` labels the axis. */
export function barChart(id: string, title: string, bars: Bar[], unit: string): string {
  const labelW = Math.min(320, 12 + 6.6 * Math.max(8, ...bars.map((b) => b.label.length)));
  const plotW = 420;
  const rowH = 22;
  const h = 52 + rowH * bars.length;
  const [lo, hi] = extent(bars.flatMap((b) => [b.value ?? NaN, b.lo ?? NaN, b.hi ?? NaN]));
  const x = (v: number) => labelW + ((v - lo) / (hi - lo)) * plotW;
  const parts: string[] = [`<line x1="${x(0)}" y1="8" x2="${x(0)}" y2="${h - 36}" stroke="#999"/>`];
  let skipped = 0;
  bars.forEach((b, i) => {
    const y = 10 + i * rowH;
    parts.push(`<text x="${labelW - 6}" y="${y + 14}" text-anchor="end" font-size="12">${esc(b.label)}</text>`);
    if (!ok(b.value)) {
      skipped++;
      return;
    }
    const x0 = Math.min(x(0), x(b.value));
    parts.push(`<rect x="${x0}" y="${y + 3}" width="${Math.max(1, Math.abs(x(b.value) - x(0)))}" height="${rowH - 8}" fill="${PALETTE[(b.group ?? 0) % PALETTE.length]}" opacity="0.8"/>`);
    if (ok(b.lo) && ok(b.hi)) parts.push(`<line x1="${x(b.lo)}" y1="${y + rowH / 2}" x2="${x(b.hi)}" y2="${y + rowH / 2}" stroke="#000"/><line x1="${x(b.lo)}" y1="${y + 5}" x2="${x(b.lo)}" y2="${y + rowH - 5}" stroke="#000"/><line x1="${x(b.hi)}" y1="${y + 5}" x2="${x(b.hi)}" y2="${y + rowH - 5}" stroke="#000"/>`);
    const label = b.value >= 0 ? `x="${x(Math.max(b.value, b.hi ?? b.value)) + 4}"` : `x="${x(Math.min(b.value, b.lo ?? b.value)) - 4}" text-anchor="end"`;
    parts.push(`<text ${label} y="${y + 14}" font-size="11" fill="#333">${esc(short(b.value))}</text>`);
  });
  for (const t of [lo, hi, ...(Math.min(x(0) - x(lo), x(hi) - x(0)) > 30 ? [0] : [])]) parts.push(`<text x="${x(t)}" y="${h - 24}" text-anchor="middle" font-size="10" fill="#555">${esc(short(t))}</text>`);
  parts.push(`<text x="${labelW + plotW / 2}" y="${h - 8}" text-anchor="middle" font-size="11" fill="#333">${esc(unit)}</text>`);
  return frame(id, title, labelW + plotW + 60, h, parts.join(''), skipped ? `${skipped} without a finite value` : undefined);
}

/** Grouped columns: one group per category, one column per series. */
export function columnChart(id: string, title: string, categories: string[], series: Array<{ name: string; values: Array<number | null> }>, unit: string): string {
  const w = Math.max(360, 60 + categories.length * (12 + 10 * series.length));
  const h = 240;
  const top = 26;
  const bottom = h - 40;
  const [lo, hi] = extent(series.flatMap((s) => s.values.map((v) => v ?? NaN)));
  const y = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  const groupW = (w - 60) / Math.max(1, categories.length);
  const colW = Math.max(2, (groupW - 6) / Math.max(1, series.length));
  const parts: string[] = [`<line x1="50" y1="${y(0)}" x2="${w - 5}" y2="${y(0)}" stroke="#999"/>`];
  categories.forEach((c, i) => {
    const gx = 55 + i * groupW;
    series.forEach((s, k) => {
      const v = s.values[i];
      if (!ok(v)) return;
      parts.push(`<rect x="${gx + k * colW}" y="${Math.min(y(0), y(v))}" width="${colW - 1}" height="${Math.max(1, Math.abs(y(v) - y(0)))}" fill="${PALETTE[k % PALETTE.length]}" opacity="0.85"><title>${esc(`${s.name} · ${c}: ${short(v)}`)}</title></rect>`);
    });
    if (categories.length <= 24 || i % Math.ceil(categories.length / 24) === 0) parts.push(`<text x="${gx + groupW / 2}" y="${bottom + 14}" text-anchor="middle" font-size="10">${esc(c)}</text>`);
  });
  for (const t of [lo, hi]) parts.push(`<text x="46" y="${y(t) + 4}" text-anchor="end" font-size="10" fill="#555">${esc(short(t))}</text>`);
  parts.push(`<text x="4" y="12" font-size="10" fill="#555">${esc(unit)}</text>`);
  series.forEach((s, k) => parts.push(`<rect x="${60 + k * 150}" y="${h - 16}" width="10" height="10" fill="${PALETTE[k % PALETTE.length]}"/><text x="${74 + k * 150}" y="${h - 7}" font-size="10">${esc(s.name.length > 24 ? s.name.slice(0, 23) + '…' : s.name)}</text>`));
  return frame(id, title, w, h, parts.join(''));
}

/** Line chart of several series of (x, y) points. */
export function lineChart(id: string, title: string, series: Array<{ name: string; points: Array<[number, number]> }>, xLabel: string, yLabel: string): string {
  const w = 720;
  const h = Math.max(260, 40 + 16 * series.length);
  const [left, right, top, bottom] = [56, w - 250, 16, h - 34];
  const pts = series.flatMap((s) => s.points).filter(([a, b]) => ok(a) && ok(b));
  const [x0, x1] = extent(pts.map((p) => p[0]), false);
  const [y0, y1] = extent(pts.map((p) => p[1]));
  const x = (v: number) => left + ((v - x0) / (x1 - x0)) * (right - left);
  const y = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
  const parts: string[] = [`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#ccc"/>`];
  if (y0 < 0 && y1 > 0) parts.push(`<line x1="${left}" y1="${y(0)}" x2="${right}" y2="${y(0)}" stroke="#999" stroke-dasharray="3,3"/>`);
  series.forEach((s, k) => {
    const p = s.points.filter(([a, b]) => ok(a) && ok(b));
    if (!p.length) return;
    parts.push(`<polyline fill="none" stroke="${PALETTE[k % PALETTE.length]}" stroke-width="1.6" points="${p.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<rect x="${right + 8}" y="${top + k * 16}" width="10" height="10" fill="${PALETTE[k % PALETTE.length]}"/><text x="${right + 22}" y="${top + 9 + k * 16}" font-size="10">${esc(s.name.length > 38 ? s.name.slice(0, 37) + '…' : s.name)}</text>`);
  });
  for (const t of [x0, x1]) parts.push(`<text x="${x(t)}" y="${bottom + 14}" text-anchor="middle" font-size="10" fill="#555">${esc(short(t))}</text>`);
  for (const t of [y0, y1]) parts.push(`<text x="${left - 4}" y="${y(t) + 4}" text-anchor="end" font-size="10" fill="#555">${esc(short(t))}</text>`);
  parts.push(`<text x="${(left + right) / 2}" y="${h - 4}" text-anchor="middle" font-size="11">${esc(xLabel)}</text><text x="12" y="${(top + bottom) / 2}" font-size="11" transform="rotate(-90 12 ${(top + bottom) / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  return frame(id, title, w, h, parts.join(''));
}

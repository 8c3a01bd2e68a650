/**
 * Inline SVG charts for the options report: line and scatter series on shared axes, with ticks and a
 * legend. Self-contained markup (no scripts, no external fonts); every text node is HTML-escaped.
 * Dates on the x axis are passed as ISO strings and placed by their day number.
 */

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One series: points (x number or ISO date, y), drawn as a line, dots, or both. */
export interface Series {
  name: string;
  points: Array<[number | string, number]>;
  color?: string;
  mode?: 'line' | 'dots' | 'both';
  dashed?: boolean;
}

/** Chart settings. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Horizontal reference lines (e.g. 0, a cap). */
  hlines?: Array<{ y: number; label: string }>;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const dayOf = (x: number | string) => (typeof x === 'number' ? x : Date.parse(`${x}T00:00:00Z`) / 86_400_000);

/** "Nice" tick values covering [lo, hi] (about `n` of them). */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Math.abs(v) < 1e-12 * step ? 0 : v);
  return out;
}

/** Compact number for tick labels. */
export function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e7) return `${(v / 1e7).toFixed(1)}cr`;
  if (a >= 1e5) return `${(v / 1e5).toFixed(1)}L`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 10 || v === 0 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

/**
 * An SVG chart of `spec` (inline `<svg>` markup). Non-finite points are skipped (a line breaks there).
 * Returns a short "no data" SVG when no series has a finite point.
 */
export function chart(spec: ChartSpec): string {
  const W = spec.width ?? 640, H = spec.height ?? 260;
  const m = { l: 58, r: 12, t: 26, b: 40 };
  const isDate = spec.series.some((s) => s.points.some((p) => typeof p[0] === 'string'));
  const pts = spec.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[1])).map((p) => [dayOf(p[0]), p[1]] as const));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}"><text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${esc(spec.title)}</text>`;
  if (pts.length === 0) return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12" fill="#888">no data</text></svg>`;
  const ys = [...pts.map((p) => p[1]), ...(spec.hlines ?? []).map((h) => h.y)];
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = 0.05 * (y1 - y0);
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [head];
  for (const t of ticks(y0, y1)) parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/><text x="${m.l - 4}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="10">${esc(short(t))}</text>`);
  for (const t of ticks(x0, x1, 6)) {
    const label = isDate ? new Date(t * 86_400_000).toISOString().slice(0, 7) : short(t);
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle" font-size="10">${esc(label)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${esc(spec.xLabel)}</text><text transform="translate(12 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(spec.yLabel)}</text>`);
  for (const h of spec.hlines ?? []) parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(h.y).toFixed(1)}" y2="${sy(h.y).toFixed(1)}" stroke="#999" stroke-dasharray="4 3"/><text x="${W - m.r - 2}" y="${(sy(h.y) - 3).toFixed(1)}" text-anchor="end" font-size="9" fill="#666">${esc(h.label)}</text>`);
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const mode = s.mode ?? 'line';
    if (mode !== 'dots') {
      let d = '';
      let pen = false;
      for (const [x, y] of s.points) {
        if (!Number.isFinite(y)) { pen = false; continue; }
        d += `${pen ? 'L' : 'M'}${sx(dayOf(x)).toFixed(1)},${sy(y).toFixed(1)}`;
        pen = true;
      }
      if (d) parts.push(`<path d="${d}" fill="none" stroke="${esc(color)}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    }
    if (mode !== 'line') for (const [x, y] of s.points) if (Number.isFinite(y)) parts.push(`<circle cx="${sx(dayOf(x)).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.2" fill="${esc(color)}"/>`);
    parts.push(`<rect x="${m.l + 8 + (i % 4) * 140}" y="${m.t + 2 + Math.floor(i / 4) * 13}" width="10" height="3" fill="${esc(color)}"/><text x="${m.l + 22 + (i % 4) * 140}" y="${m.t + 7 + Math.floor(i / 4) * 13}" font-size="10">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

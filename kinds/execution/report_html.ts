/**
 * HTML building blocks of the study report: escaped tables, number formats, sections, and the
 * self-contained page (inline CSS, inline SVG charts, no scripts, opens offline). Every cell and
 * every label goes through {@link esc}.
 */
import { esc, short } from './svg.ts';

export { esc } from './svg.ts';

/** A table cell: text, a number (formatted with {@link short}), or null (shown as —). */
export type Cell = string | number | boolean | null | undefined;

/** Formats a cell: numbers to 4 significant digits, booleans as yes/no, null as —. */
export function fmt(c: Cell): string {
  if (c === null || c === undefined) return '—';
  if (typeof c === 'number') return short(c);
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return c;
}

/** A 95% interval as "[lo, hi]". */
export function ci(lo: number | null | undefined, hi: number | null | undefined): string {
  return lo === null || lo === undefined || hi === null || hi === undefined ? '—' : `[${short(lo)}, ${short(hi)}]`;
}

/** An estimate as "value [lo, hi]". */
export function estText(e: { value: number | null; lo: number | null; hi: number | null } | undefined): string {
  return e ? `${fmt(e.value)} ${ci(e.lo, e.hi)}` : '—';
}

/** An HTML table with a header row; every cell escaped; numeric cells right-aligned. */
export function table(headers: string[], rows: Cell[][], caption?: string): string {
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${esc(fmt(c))}</td>`).join('')}</tr>`).join('');
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Key–value rows as a two-column table. */
export function facts(rows: Array<[string, Cell]>): string {
  return `<table class="facts"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(fmt(v))}</td></tr>`).join('')}</tbody></table>`;
}

/** A paragraph of escaped text. */
export function para(text: string, cls?: string): string {
  return `<p${cls ? ` class="${esc(cls)}"` : ''}>${esc(text)}</p>`;
}

/** A verdict line: ✔ holds / ✖ does not hold, with its rule and detail. */
export function verdict(holds: boolean, rule: string, detail?: string): string {
  return `<p class="verdict ${holds ? 'pass' : 'fail'}">${holds ? '✔ holds' : '✖ does not hold'}: ${esc(rule)}${detail ? ` — ${esc(detail)}` : ''}</p>`;
}

/** One report section. */
export interface Section {
  id: string;
  title: string;
  html: string;
}

/** A section wrapper with an anchor. */
export function section(s: Section): string {
  return `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>${s.html}</section>`;
}

/** One criterion of the run's outcome. */
export interface Criterion {
  study: string;
  rule: string;
  holds: boolean;
  detail: string;
}

const CSS = `body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.35}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin-bottom:6px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:12.5px}th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:4px 0}
table.facts th{width:260px}.verdict{font-weight:600;padding:6px 10px;border-radius:4px}.pass{background:#e8f5e9;color:#1b5e20}.fail{background:#fdecea;color:#8a1c1c}
.note{color:#555;font-size:12.5px}figure.chart{margin:10px 0 18px}figcaption{font-size:12px;color:#555}nav a{margin-right:12px;font-size:13px}
ul.approx{font-size:12.5px;color:#444}`;

/** The whole page: title, run facts, the outcome (criteria), a table of contents and the sections. */
export function page(o: { title: string; run: Array<[string, Cell]>; criteria: Criterion[]; sections: Section[]; missing: string[] }): string {
  const outcome = o.criteria.length
    ? o.criteria.map((c) => verdict(c.holds, `${c.study}: ${c.rule}`, c.detail)).join('')
    : para('No study in this run states a design criterion.', 'note');
  const nav = `<nav>${o.sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('')}</nav>`;
  const missing = o.missing.length ? `<section id="missing"><h2>Not in this report</h2><ul>${o.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul></section>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(o.title)}</title><style>${CSS}</style></head><body><h1>${esc(o.title)}</h1>${facts(o.run)}<section id="outcome"><h2>Outcome</h2>${outcome}</section>${nav}${o.sections.map(section).join('')}${missing}</body></html>\n`;
}

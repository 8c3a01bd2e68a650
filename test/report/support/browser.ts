import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** What a page did once it was opened in headless Chromium. */
export interface PageVisit {
  /** `window.__xss` after load and after hovering and focusing every element (set only by a payload that ran). */
  xss: unknown;
  /** Console lines and page errors. */
  console: string[];
  /** Requests to anything but the page file itself (all aborted). */
  external: string[];
  /** Elements that can run script or navigate, and elements with an `on…` handler or a `javascript:` URL attribute. */
  active: string[];
  title: string;
  /** textContent of the `h1`, of each `section[id]`, and of each chart's SVG (`chart:<id>`). */
  text: Record<string, string>;
}

/** Runs in the page: hovers, focuses and clicks every element, so handler payloads would fire. */
const PROVOKE = `(() => {
  for (const el of document.querySelectorAll('body *'))
    for (const type of ['mouseover', 'mouseenter', 'focus', 'click']) el.dispatchEvent(new Event(type, { bubbles: false }));
})()`;

/** Runs in the page: what payloads recorded, the active elements and attributes, and the text of each section and chart. */
const INSPECT = `(() => {
  const active = [];
  for (const el of document.querySelectorAll('script, iframe, object, embed, img, a, details, foreignObject, form, input, button, link, base, meta[http-equiv="refresh"]')) active.push('<' + el.tagName.toLowerCase() + '>');
  for (const el of document.querySelectorAll('*'))
    for (const a of el.attributes) if (/^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)) active.push('<' + el.tagName.toLowerCase() + ' ' + a.name + '>');
  const text = { h1: document.querySelector('h1')?.textContent ?? '' };
  for (const s of document.querySelectorAll('section[id]')) text[s.id] = s.textContent ?? '';
  for (const f of document.querySelectorAll('figure.chart')) text['chart:' + f.getAttribute('data-chart')] = f.querySelector('svg')?.textContent ?? '';
  return { xss: window.__xss, active, text };
})()`;

/** Same flags as test/report/report.test.ts (no sandbox in the CI container, no GPU). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];

/**
 * Opens `file` in headless Chromium (playwright-core, CHROMIUM_PATH or /usr/bin/chromium), lets
 * every element be hovered and focused (so `onmouseover`/`onfocus` payloads would fire), and
 * reports what ran. `stripCsp` first removes the page's Content-Security-Policy, so the check holds
 * for the escaping alone, not only for the CSP that backs it up.
 */
export async function visitReport(file: string, opts: { stripCsp?: boolean } = {}): Promise<PageVisit> {
  let target = file;
  if (opts.stripCsp) {
    const html = readFileSync(file, 'utf8');
    const stripped = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '');
    if (stripped === html) throw new Error(`${file} has no Content-Security-Policy meta to strip`);
    target = file.replace(/\.html$/, '.no-csp.html');
    writeFileSync(target, stripped);
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const visit: PageVisit = { xss: undefined, console: [], external: [], active: [], title: '', text: {} };
    page.on('console', (m) => visit.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => visit.console.push(`pageerror: ${e.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === pathToFileURL(target).href) return route.continue();
      visit.external.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(target).href, { waitUntil: 'load' });
    await page.evaluate(PROVOKE);
    await page.waitForTimeout(50);
    const seen = (await page.evaluate(INSPECT)) as Pick<PageVisit, 'xss' | 'active' | 'text'>;
    Object.assign(visit, seen, { title: await page.title() });
    return visit;
  } finally {
    await browser.close();
  }
}

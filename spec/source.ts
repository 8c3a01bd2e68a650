import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';

/**
 * How many nodes the document may hold once its aliases are expanded: generous for any real spec
 * (a pipeline reusing an anchored block 1,000 times is ~20,000 nodes), small enough that an alias
 * bomb ("billion laughs") is refused before it is expanded.
 */
export const MAX_EXPANDED_NODES = 200_000;

/** A problem in pipelines.yaml, located by 1-based line and column. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
  /** How to fix it. */
  hint?: string;
}

/** `file:line:col: message — hint` (the form editors jump to). */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}${d.hint ? ` — ${d.hint}` : ''}`;
}

/** A parsed YAML source that can map a value path back to its line:col. */
export class YamlSource {
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(readonly file: string, readonly text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /** Syntax errors (including duplicate keys) as diagnostics. */
  syntaxDiagnostics(): Diagnostic[] {
    // one error per offset and per line: the parser's follow-up errors repeat the first one
    const seenOffsets = new Set<number>();
    const seenLines = new Set<number>();
    const errors = this.doc.errors.filter((e) => {
      const line = this.pos(e.pos[0]).line;
      if (seenOffsets.has(e.pos[0]) || seenLines.has(line)) return false;
      seenOffsets.add(e.pos[0]);
      seenLines.add(line);
      return true;
    });
    return errors.map((e) => {
      const { line, col } = this.pos(this.errorOffset(e.code, e.pos[0]));
      if (e.code === 'DUPLICATE_KEY') {
        const key = this.keyAt(e.pos[0]);
        const inSteps = this.isUnderSteps(e.pos[0]);
        return {
          file: this.file, line, col,
          message: inSteps ? `duplicate step id${key ? ` "${key}"` : ''}` : `duplicate key${key ? ` "${key}"` : ''}`,
          hint: inSteps ? 'step ids must be unique within a pipeline: rename one of them' : 'remove or rename one of the two keys',
        };
      }
      return { file: this.file, line, col, message: `YAML syntax error: ${e.message.split('\n')[0]}`, hint: 'fix the YAML syntax (indentation, quotes, colons)' };
    });
  }

  /**
   * Alias problems as diagnostics at the alias: an alias without an anchor before it, an alias
   * inside the node it names, or aliases expanding the document past {@link MAX_EXPANDED_NODES}.
   * When there are none, {@link YamlSource.toJS} is safe to call.
   */
  aliasDiagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [];
    const sizes = new Map<unknown, number>();
    const active = new Set<unknown>();
    let total = 0;
    let tooBig = false;
    const at = (n: Alias, message: string, hint: string) => {
      const { line, col } = this.pos(n.range?.[0] ?? 0);
      out.push({ file: this.file, line, col, message, hint });
    };
    const cap = (n: number) => Math.min(n, MAX_EXPANDED_NODES + 1);
    // expanded size of a node (aliases count as what they expand to), capped above the limit
    const size = (n: unknown): number => {
      if (n === null || n === undefined) return 1;
      const known = sizes.get(n);
      if (known !== undefined) return known;
      if (active.has(n)) return MAX_EXPANDED_NODES + 1;
      active.add(n);
      let v = 1;
      if (isAlias(n)) {
        const target = n.resolve(this.doc);
        v = target ? size(target) : 1;
      } else if (isMap(n)) for (const p of n.items) v = cap(v + size(p.key) + size(p.value));
      else if (isSeq(n)) for (const item of n.items) v = cap(v + size(item));
      active.delete(n);
      sizes.set(n, v);
      return v;
    };
    visit(this.doc, {
      Alias: (_k, n) => {
        const target = n.resolve(this.doc);
        if (!target) return void at(n, `alias *${n.source} has no anchor &${n.source} before it`, `define the anchor first (&${n.source} on an earlier node) or fix the alias name`);
        if (target.range && n.range && target.range[0] <= n.range[0] && n.range[0] < target.range[2]) {
          return void at(n, `alias *${n.source} is inside the node it refers to`, 'an alias cannot repeat the node that contains it: copy the values instead');
        }
        total = cap(total + size(target));
        if (total > MAX_EXPANDED_NODES && !tooBig) {
          tooBig = true;
          at(n, `YAML aliases expand the document past ${MAX_EXPANDED_NODES.toLocaleString('en-US')} nodes (at *${n.source})`, 'repeat fewer or smaller anchored blocks (nested aliases multiply)');
        }
      },
    });
    return out;
  }

  /** Plain JS value of the document (call after {@link YamlSource.aliasDiagnostics} found nothing). */
  toJS(): unknown {
    // aliases were bounded by aliasDiagnostics; the library's own limit (100) refuses real specs
    return this.doc.toJS({ maxAliasCount: -1 });
  }

  /**
   * Position of the value at `path` (or of its key when `key` is true). Falls back to the
   * deepest existing ancestor when the path does not exist.
   */
  locate(path: readonly (string | number)[], key = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let best: unknown = node;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (key && i === path.length - 1) {
          best = pair.key;
          break;
        }
        node = pair.value;
        best = node ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (!node) break;
        best = node;
      } else break;
    }
    const range = (best as Node | undefined)?.range;
    return this.pos(range ? range[0] : 0);
  }

  /** A diagnostic located at `path`. */
  at(path: readonly (string | number)[], message: string, hint?: string, key = false): Diagnostic {
    const { line, col } = this.locate(path, key);
    return { file: this.file, line, col, message, hint };
  }

  private pos(offset: number): { line: number; col: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /**
   * Where a syntax error is best shown: an unclosed quote at the quote that opened the string
   * (the parser reports it where the file ends), a bad indentation at the line's first character.
   */
  private errorOffset(code: string, offset: number): number {
    if (code === 'MISSING_CHAR') {
      let open: number | undefined;
      visit(this.doc, {
        Scalar: (_k, n) => {
          if ((n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE') && n.range && n.range[0] < offset && n.range[1] >= offset) open = n.range[0];
        },
      });
      if (open !== undefined) return open;
    }
    let o = offset;
    while (this.text[o] === ' ') o++;
    return this.text[o] === undefined || this.text[o] === '\n' ? offset : o;
  }

  private keyAt(offset: number): string | undefined {
    const m = /^[ \t]*["']?([^"':\n]+)["']?\s*:/.exec(this.text.slice(offset, offset + 200));
    return m?.[1]?.trim();
  }

  private isUnderSteps(offset: number): boolean {
    const before = this.text.slice(0, offset).split('\n');
    const indent = (this.text.slice(offset).match(/^[ \t]*/)?.[0].length ?? 0) + ((before.at(-1) ?? '').length);
    for (let i = before.length - 2; i >= 0; i--) {
      const l = before[i]!;
      if (!l.trim() || l.trim().startsWith('#')) continue;
      const ind = l.match(/^[ \t]*/)![0].length;
      if (ind < indent) return /^\s*steps\s*:/.test(l);
    }
    return false;
  }
}

import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';

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

  /** Plain JS value of the document. */
  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
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

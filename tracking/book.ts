import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { costConfigSchema, type CostConfig } from '../execution/cost_models.ts';
import { loadConfig } from '../lib/config.ts';
import { UserError } from '../lib/errors.ts';
import { digestJson } from '../lib/hash.ts';
import { portfolioConfigSchema, type PortfolioConfig } from '../portfolio/config.ts';
import { writeFileAtomic } from '../report/atomic.ts';
import type { BookState } from '../portfolio/score_book.ts';

/*
 * The deployed book's setup and state: which portfolio and cost configs a registered model's book is
 * built with (the ones its gated backtest traded), and the held book of each scored date.
 */

/**
 * How the book is built: the portfolio and cost configs the gated backtest traded (portfolio/config.ts,
 * execution/cost_models.ts) and where they were read from.
 */
export interface TradeSetup {
  /** Portfolio config (configs/portfolio.yml schema): base book, sizing, trade rate, execution. */
  portfolio: PortfolioConfig;
  /** Cost config (configs/costs.yml schema): the held book's returns are net of these costs. */
  costs: CostConfig;
  /** Where the configs came from (the model's gate report / backtest metrics, or the config files). */
  source: string;
  /** `digestJson(portfolio)`: the same digest as portfolio.build's `config_digest`. */
  config_digest: string;
  /** `digestJson(costs)`. */
  costs_digest: string;
}

/**
 * The trade setup the model's book was gated with, read from what the registered version records,
 * first found wins:
 *  1. `lineage.trade_setup` ({ portfolio, costs }), when registration records it;
 *  2. the gate report of `lineage.gate.step` (its `trade_setup.portfolio` / `.costs`, what the gate
 *     traded the candidate with), found by its digest in `lineage.datasets` in the local `store`;
 *  3. any other JSON of `lineage.datasets` that records `portfolio` and `costs` (the backtest metrics);
 *  4. else the config files `portfolioPath` / `costsPath` under `projectRoot`, read as portfolio.build
 *     reads them (lib/config.ts loadConfig), and `source` says the model does not record them.
 * Throws ConfigError when a config file is needed and invalid.
 */
export function tradeSetupFor(o: { lineage?: Record<string, unknown>; store?: ArtifactStore; projectRoot: string; portfolioPath: string; costsPath: string }): TradeSetup {
  const done = (portfolio: PortfolioConfig, costs: CostConfig, source: string): TradeSetup => ({ portfolio, costs, source, config_digest: digestJson(portfolio), costs_digest: digestJson(costs) });
  const parse = (doc: unknown): { portfolio: PortfolioConfig; costs: CostConfig } | undefined => {
    const d = (doc && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
    const p = portfolioConfigSchema.safeParse(d.portfolio);
    const c = costConfigSchema.safeParse(d.costs);
    return p.success && c.success && d.portfolio && d.costs ? { portfolio: p.data, costs: c.data } : undefined;
  };
  const lin = o.lineage ?? {};
  const own = parse(lin.trade_setup);
  if (own) return done(own.portfolio, own.costs, 'the trade setup recorded with the model (lineage.json)');
  const datasets = (lin.datasets && typeof lin.datasets === 'object' ? lin.datasets : {}) as Record<string, unknown>;
  const gateStep = (lin.gate as { step?: unknown } | undefined)?.step;
  const entries = Object.entries(datasets).filter((e): e is [string, string] => typeof e[1] === 'string' && /^sha256:[0-9a-f]{64}$/.test(e[1]));
  const ordered = [...entries.filter(([k]) => typeof gateStep === 'string' && k.startsWith(`${gateStep}.`)), ...entries.filter(([k]) => !(typeof gateStep === 'string' && k.startsWith(`${gateStep}.`)))];
  if (o.store) {
    for (const [key, digest] of ordered) {
      const uri = `artifact://sha256/${digest.slice('sha256:'.length)}.json`;
      if (!o.store.has(uri)) continue;
      let doc: Record<string, unknown>;
      try {
        doc = o.store.readJson<Record<string, unknown>>(uri);
      } catch {
        continue;
      }
      const gated = parse(doc.trade_setup);
      if (gated) return done(gated.portfolio, gated.costs, `the gate report the model passed (${key}, ${digest.slice(0, 19)}…)`);
      const bt = parse(doc);
      if (bt) return done(bt.portfolio, bt.costs, `the backtest metrics of the model's run (${key}, ${digest.slice(0, 19)}…)`);
    }
  }
  const portfolio = loadConfig(o.projectRoot, o.portfolioPath, portfolioConfigSchema);
  const costs = loadConfig(o.projectRoot, o.costsPath, costConfigSchema);
  return done(portfolio, costs, `${o.portfolioPath} and ${o.costsPath} (the model does not record its trade setup; read as portfolio.build reads them)`);
}

/** A stored day of a deployed book: where its state lives and who wrote it. */
interface BookPointer {
  model: string;
  version: string;
  date: string;
  config_digest: string;
  costs_digest: string;
  state: ArtifactRef;
  /** Inputs key of the score.daily step that wrote it (absent when written by `trademl score`). */
  written_by?: string;
}

/**
 * The held books of deployed models: one folder per (model, version, trade setup) under
 * `<home>/books/<model>/v<version>/<config digest 12>-<costs digest 12>/`, one pointer file
 * `<date>.json` per scored date naming its {@link BookState} in the artifact store. A different
 * version or trade setup is a different book (its state would not be the gated book's).
 */
export class BookStore {
  constructor(
    readonly home: string,
    readonly store: ArtifactStore,
  ) {}

  /** Root folder of a model's books (every version): what score.daily's cache fingerprint lists. */
  static modelDir(home: string, model: string): string {
    return path.join(home, 'books', model);
  }

  dir(model: string, version: string, setup: Pick<TradeSetup, 'config_digest' | 'costs_digest'>): string {
    const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
    return path.join(BookStore.modelDir(this.home, model), `v${version}`, `${short(setup.config_digest)}-${short(setup.costs_digest)}`);
  }

  /** Dates (ISO, ascending) with a stored state in `dir`. */
  dates(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f))
      .map((f) => f.slice(0, 10))
      .sort();
  }

  /** The state stored for `date` in `dir`, or null. Throws a UserError when its artifact is gone. */
  get(dir: string, date: string): BookState | null {
    const file = path.join(dir, `${date}.json`);
    if (!existsSync(file)) return null;
    const p = JSON.parse(readFileSync(file, 'utf8')) as BookPointer;
    if (!this.store.has(p.state)) throw new UserError({ message: `the held book of ${date} (${file}) names ${p.state.uri}, which is not in the artifact store ${this.store.root}; score from a fresh book (--fresh / with.fresh) or restore the store` });
    return this.store.readJson<BookState>(p.state);
  }

  /** Stores the state of `p.date`; returns its artifact and pointer file. */
  async put(dir: string, p: Omit<BookPointer, 'state'>, state: BookState): Promise<{ ref: ArtifactRef; file: string }> {
    const ref = await this.store.putJson(state, `book_state_${p.date}.json`);
    const file = path.join(dir, `${p.date}.json`);
    writeFileAtomic(file, JSON.stringify({ ...p, state: ref }, null, 2));
    return { ref, file };
  }
}

/** The state of a book that holds nothing yet (what the backtest carries before a path's first score). */
export function flatState(date: string, cfg: PortfolioConfig): BookState {
  return { date, held: {}, leverage_bar: Math.min(1, cfg.max_leverage), unit_returns: [], last_cost: 0 };
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ArtifactStore } from '../../artifacts/store.ts';
import { CALENDAR_NAMES } from '../../calendar/calendar.ts';
import { UserError } from '../../lib/errors.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { BookStore, scoreDate, topLine, tradeSetupFor } from '../../tracking/score.ts';
import { homeOption, withRegistry } from './models.ts';

/**
 * `trademl score --model NAME@ALIAS [--date D] [--ohlcv FILE] [--fresh]`: the book of one date from a
 * registered model, built as the gated backtest builds it (tracking/score.ts `scoreDate`), from the
 * held book of the previous trading date kept in `<home>/books/` (first day: from flat).
 */
export function register(program: Command): void {
  program
    .command('score')
    .description(
      "score one date with a registered model (default alias champion): that date's features → ONNX → the gated backtest's book (rank z-score, vol target / Kelly, partial rebalancing from the held book of the previous trading date) + JSON/Markdown report",
    )
    .requiredOption('--model <ref>', 'NAME@ALIAS (e.g. equities_xs@champion) or NAME/VERSION')
    .option('--date <YYYY-MM-DD>', 'trading date to score (default: the last date in the OHLCV)')
    .option('--ohlcv <parquet>', "canonical daily OHLCV Parquet (default: the curated OHLCV recorded in the model's lineage); rows after --date are never read")
    .option('--calendar <name>', 'trading calendar of the OHLCV, e.g. nyse, 24x7 (default: the one recorded with the model)')
    .option('--out <dir>', 'output folder (default: <home>/scores/<model>/<date>)')
    .option('--portfolio <file>', 'portfolio config, used only when the model records no trade setup', 'configs/portfolio.yml')
    .option('--costs <file>', 'cost config, used only when the model records no trade setup', 'configs/costs.yml')
    .option('--fresh', 'start a new book from flat even when a held book of the previous trading date exists')
    .option('--json', 'machine-readable output')
    .action(async (o: { model: string; date?: string; ohlcv?: string; calendar?: string; out?: string; portfolio: string; costs: string; fresh?: boolean; json?: boolean }, cmd: Command) => {
      if (o.date && !/^\d{4}-\d{2}-\d{2}$/.test(o.date)) throw new UserError({ message: `--date ${o.date}: use YYYY-MM-DD` });
      const home = homeOption(cmd);
      const store = new ArtifactStore(path.join(home, 'artifacts'));
      const res = await withRegistry(cmd, async (reg) => {
        const v = await reg.resolve(o.model);
        const work = path.join(home, 'scores', '.model', `${v.name}-v${v.version}`);
        const files = await reg.fetchFiles(v, work);
        let ohlcv = o.ohlcv ? path.resolve(o.ohlcv) : undefined;
        const lin = files.lineage ? (JSON.parse(readFileSync(files.lineage, 'utf8')) as Record<string, unknown> & { ohlcv?: string; ohlcv_calendar?: string }) : {};
        if (!ohlcv && lin.ohlcv && store.has(lin.ohlcv)) ohlcv = store.path(lin.ohlcv);
        if (!ohlcv) throw new UserError({ message: `model ${v.name} v${v.version} has no curated OHLCV in this state home; pass --ohlcv <canonical OHLCV parquet> (docs/contracts.md)` });
        const calendar = o.calendar ?? lin.ohlcv_calendar;
        if (!calendar) throw new UserError({ message: `model ${v.name} v${v.version} records no calendar for its OHLCV; pass --calendar (e.g. nyse, 24x7; see calendar/calendar.ts)` });
        if (!CALENDAR_NAMES.includes(calendar)) throw new UserError({ message: `--calendar ${calendar}: unknown calendar; known: ${CALENDAR_NAMES.join(', ')}` });
        const setup = tradeSetupFor({ lineage: lin, store, projectRoot: PROJECT_ROOT, portfolioPath: o.portfolio, costsPath: o.costs });
        return scoreDate({
          model: v.name,
          version: v.version,
          onnxPath: files.onnx,
          featureListPath: files.featureList,
          sleeves: files.sleeves,
          stackerPath: files.stacker,
          ohlcvPath: ohlcv,
          calendar,
          date: o.date,
          projectRoot: PROJECT_ROOT,
          outDir: o.out ? path.resolve(o.out) : path.join(home, 'scores', v.name, o.date ?? 'latest'),
          setup,
          books: new BookStore(home, store),
          fresh: Boolean(o.fresh),
        });
      });
      if (o.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
      else {
        const b = res.book;
        process.stdout.write(
          `${res.model} v${res.version} on ${res.date}: ${res.n_scored}/${res.n_universe} scored; held ${res.n_long} long / ${res.n_short} short, gross ${(res.gross * 100).toFixed(1)}%, net ${(res.net * 100).toFixed(1)}%\n` +
            `book:    ${b.note}\n` +
            `         multiplier ${b.leverage.toFixed(3)}, turnover ${(b.turnover * 100).toFixed(2)}%, traded at ${b.execution}\n` +
            `setup:   ${b.portfolio_source}\n         portfolio ${b.config_digest}\n` +
            `long:    ${topLine(res.top_long)}\n` +
            `short:   ${topLine(res.top_short)}\n` +
            `weights: ${res.files.weights}\nreport:  ${res.files.markdown}\n`,
        );
      }
    });
}

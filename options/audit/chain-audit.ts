/**
 * GREEN/AMBER/RED audit of an option chain per date: runs the rules of audit/rules.ts over each
 * date (with the previous date for the day-over-day rules), records the inferred lot size per
 * expiry (audit/lot-size.ts), and sets the date's status to the worst rule level, with the reasons.
 * A date without any Underlying Value is AMBER (spot then comes from the index close).
 */
import { groupByDate, groupByExpiry, type ChainRow } from '../data/chain.ts';
import { inferLotSize, type LotSizeEstimate } from './lot-size.ts';
import {
  crossedPrices, DEFAULT_THRESHOLDS, expiryConsistency, expirySettlement, oiUnits, parityBreaches, staleSettles, strikeGrid, verticalArbitrage, zeroPrices,
  type AuditLevel, type ChainAuditThresholds, type RuleFinding,
} from './rules.ts';

/** Audit of one date. */
export interface DateAudit {
  date: string;
  status: AuditLevel;
  /** The non-GREEN findings' `rule: detail`, worst first. */
  reasons: string[];
  findings: RuleFinding[];
  /** Lot size per expiry (see audit/lot-size.ts). */
  lots: Record<string, LotSizeEstimate>;
  /** Strike grid step per expiry, INR. */
  strikeSteps: Record<string, number>;
  /** Spot used (Underlying Value), NaN when absent. */
  spot: number;
}

const RANK: Record<AuditLevel, number> = { GREEN: 0, AMBER: 1, RED: 2 };

/**
 * Audits the rows of one date; `prev` = the previous trade date's rows (null for the first date),
 * `earlierLots` = lots inferred on earlier dates (for the OI-units rule). Throws on an empty date.
 */
export function auditChainDate(rows: readonly ChainRow[], prev: readonly ChainRow[] | null, th: ChainAuditThresholds = DEFAULT_THRESHOLDS, earlierLots: readonly number[] = []): DateAudit {
  if (rows.length === 0) throw new Error('auditChainDate: no rows');
  const date = rows[0]!.date;
  const spot = rows.find((r) => r.underlying !== null)?.underlying ?? NaN;
  const lots: Record<string, LotSizeEstimate> = {};
  for (const [e, er] of groupByExpiry(rows)) lots[e] = inferLotSize(er);
  const grid = strikeGrid(rows, spot, th);
  const unit = [...earlierLots, ...Object.values(lots).map((l) => l.lot)].filter((l) => Number.isInteger(l) && l > 0).reduce((g, l) => gcd(g, l), 0) || NaN;
  const findings: RuleFinding[] = [
    zeroPrices(rows, th),
    crossedPrices(rows, th),
    verticalArbitrage(rows, th),
    staleSettles(rows, prev, th),
    Number.isFinite(spot) ? parityBreaches(rows, spot, th) : { rule: 'parity_breach', level: 'GREEN', count: 0, of: 0, detail: 'not checked: no underlying value' },
    { rule: grid.rule, level: grid.level, count: grid.count, of: grid.of, detail: grid.detail },
    expiryConsistency(rows, prev),
    expirySettlement(rows),
    ...oiUnits(rows, prev, lots, unit, th),
    lotFinding(lots),
    {
      rule: 'missing_underlying', level: Number.isFinite(spot) ? 'GREEN' : 'AMBER', count: Number.isFinite(spot) ? 0 : rows.length, of: rows.length,
      detail: Number.isFinite(spot) ? 'underlying value present' : 'no Underlying Value on any row (spot from the NIFTY 50 close)',
    },
  ];
  const bad = findings.filter((f) => f.level !== 'GREEN').sort((a, b) => RANK[b.level] - RANK[a.level]);
  const status = bad.length ? bad[0]!.level : 'GREEN';
  return { date, status, reasons: bad.map((f) => `${f.rule}: ${f.detail}`), findings, lots, strikeSteps: grid.steps, spot };
}

/** Lot-size QC: AMBER when > 5 % of traded rows disagree with the expiry's lot by > 1 %, or no traded row gives a lot. */
function lotFinding(lots: Record<string, LotSizeEstimate>): RuleFinding {
  const odd = Object.entries(lots).filter(([, l]) => !Number.isInteger(l.lot) || l.spread > 0.05);
  return {
    rule: 'lot_size', level: odd.length ? 'AMBER' : 'GREEN', count: odd.length, of: Object.keys(lots).length,
    detail: Object.entries(lots).map(([e, l]) => `${e}: lot ${l.lot} (OI/contracts mode ${l.lotFromOi})`).join('; '),
  };
}

/** Audits every date of a chain in date order (point-in-time: a date sees only itself and earlier dates). */
export function auditChain(rows: readonly ChainRow[], th: ChainAuditThresholds = DEFAULT_THRESHOLDS): DateAudit[] {
  const out: DateAudit[] = [];
  let prev: ChainRow[] | null = null;
  const seen = new Set<number>();
  for (const [, r] of groupByDate(rows)) {
    const a = auditChainDate(r, prev, th, [...seen]);
    for (const l of Object.values(a.lots)) if (Number.isInteger(l.lot)) seen.add(l.lot);
    out.push(a);
    prev = r;
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

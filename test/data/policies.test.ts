import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertNotRed } from '../../data/guard.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { copySp500, ingestAndAudit, projectWith, spContract, spLines } from './helpers.ts';

/**
 * Vendor-glitch policy: a day on which the feed shows zero volume for every name turns that date
 * RED (zero_volume affects status), the RED message carries a hint naming the rule and the switch,
 * and `affects_status: false` in the contract's audit block makes the rule report-only.
 */

const SYMBOLS = ['AAPL', 'MSFT', 'XOM', 'JPM', 'KO', 'PG', 'T', 'GE', 'IBM', 'INTC', 'CSCO', 'PFE', 'MRK', 'WMT', 'HD', 'DIS', 'MCD', 'NKE', 'PEP', 'ABT'];
const GLOB = 'sp500_all_stocks_5yr/individual_stocks_5yr/{symbol}_data.csv';
const DAY = '2016-03-08';

describe.skipIf(!hasSharedData())('vendor-glitch policies', () => {
  const { root, dir } = copySp500(SYMBOLS);
  for (const s of SYMBOLS) writeFileSync(path.join(dir, `${s}_data.csv`), spLines(s).map((l) => (l.startsWith(DAY) ? l.replace(/,\d+,([A-Z]+)$/, ',0,$1') : l)).join('\n') + '\n');
  const project = projectWith([
    spContract('glitch', GLOB),
    spContract('glitch_ok', GLOB, { audit: { rules: { zero_volume: { affects_status: false } } } }),
  ]);

  it('a zero-volume day for every name is RED, with a hint naming the rule and its affects_status switch', async () => {
    const { audit, report } = await ingestAndAudit(project, root, 'glitch');
    expect(audit.red_dates).toEqual([DAY]);
    expect(audit.red_reasons).toEqual([{ rule: 'zero_volume', count: 20 }]);
    expect(audit.red_hints).toEqual([expect.stringMatching(/^zero_volume: 20 flag\(s\) on RED dates — if this is a vendor glitch rather than bad data, set rules\.zero_volume\.affects_status: false/)]);
    expect(report.red_hints).toEqual(audit.red_hints);
    expect(report.policies.find((p) => p.rule === 'zero_volume')).toMatchObject({ affects_status: true, status_effect: expect.stringMatching(/RED at 0\.25/) });
    expect(() => assertNotRed([{ step: 'audit', output: 'quality', uses: 'qc.audit', value: { dataset: audit.dataset, status: audit.status, red_dates: audit.red_dates, amber_dates: audit.amber_dates, red_reasons: audit.red_reasons, red_hints: audit.red_hints, lost_symbols: audit.lost_symbols, quarantined_files: audit.quarantined_files, report: audit.report } }])).toThrow(/zero_volume: 20/);
  });

  it('with affects_status: false the glitch is reported only and the date is not RED', async () => {
    const { audit, report } = await ingestAndAudit(project, root, 'glitch_ok');
    expect(audit.red_dates).toEqual([]);
    expect(audit.flags_by_rule.zero_volume).toBe(20);
    expect(report.policies.find((p) => p.rule === 'zero_volume')!.status_effect).toMatch(/^reported only/);
  });

  it('an unknown rule or field in an audit block is an error listing the allowed names', async () => {
    const p = projectWith([spContract('typo', GLOB, { audit: { rules: { zero_volme: { affects_status: false } } } })]);
    await expect(ingestAndAudit(p, root, 'typo')).rejects.toThrow(/audit:\) rules: unknown field "zero_volme" \(did you mean "zero_volume"\?\); allowed fields: missing_day, return_outlier/);
  });
});

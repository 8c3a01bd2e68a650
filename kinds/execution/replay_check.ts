import { z } from 'zod';
import { lobReplayCheck } from '../../contracts/execution.ts';
import { InputError, StepError } from '../../lib/errors.ts';
import { defineStepKind } from '../types.ts';
import { lobInputs, readLobSessions } from './common.ts';

/**
 * `lob.replay_check`: rebuilds every LOB session's book from its messages (lob/book.ts, price-time
 * priority, one anonymous block per seed level) and compares the visible levels after each
 * message with LOBSTER's own snapshot row, cell by cell (lob/verify.ts). The simulator every later
 * study runs on is only trusted when this passes: any mismatched row fails the step with a
 * non-retryable `ReplayMismatch` (a verdict on the inputs, cached like an output).
 */
export const lobReplayCheckKind = defineStepKind({
  uses: 'lob.replay_check',
  version: '1',
  description: 'Reconstructs each LOB session from its messages and checks that it reproduces every recorded book snapshot exactly (fails the step on any mismatched row)',
  with: z
    .object({ symbols: z.array(z.string()).optional().describe('sessions to check, by symbol (default: every session of the dataset)') })
    .strict(),
  consumes: lobInputs,
  outputs: z.object({
    check: lobReplayCheck.schema,
    sessions: z.number().int().describe('sessions checked'),
    rows: z.number().int().describe('snapshot rows compared over all sessions'),
    mismatched_rows: z.number().int().describe('rows that differ, over all sessions (0 when the step succeeds)'),
  }),
  provides: { check: lobReplayCheck },
  deterministicFailures: ['ReplayMismatch'],
  async run(ctx, w) {
    const messages = ctx.input('messages').value;
    const book = ctx.input('book').value;
    const { verifyAgainstSnapshots } = await import('../../lob/verify.ts');
    ctx.progress({ fraction: 0.05, message: 'reading the LOB sessions' });
    const all = await readLobSessions(ctx.artifacts, messages, book);
    const chosen = w.symbols ? all.filter((s) => w.symbols!.includes(s.symbol)) : all;
    const unknown = (w.symbols ?? []).filter((sym) => !all.some((s) => s.symbol === sym));
    if (unknown.length || !chosen.length) {
      throw new InputError({ message: `lob.replay_check: no session of ${unknown.join(', ') || 'any symbol'} in dataset ${messages.dataset}; sessions: ${all.map((s) => s.symbol).join(', ') || 'none'} — fix with.symbols` });
    }
    const sessions = chosen.map((s, i) => {
      ctx.progress({ fraction: 0.1 + (0.85 * i) / chosen.length, message: `replaying ${s.symbol} ${s.date} (${s.messages.n} messages, ${s.levels} levels)` });
      const c = verifyAgainstSnapshots(s);
      return { symbol: s.symbol, date: s.date, levels: c.levels, rows: c.rows, events: c.events, mismatched_rows: c.mismatchedRows, mismatched_cells: c.mismatchedCells, first_mismatch: c.firstMismatch, edge_refills: c.edgeRefills };
    });
    const check = { dataset: messages.dataset, passed: sessions.every((s) => s.mismatched_rows === 0), sessions };
    const bad = sessions.filter((s) => s.mismatched_rows > 0);
    if (bad.length) {
      throw new StepError({
        message: `lob.replay_check: the simulator does not reproduce the recorded book: ${bad.map((s) => `${s.symbol} ${s.date}: ${s.mismatched_rows} of ${s.rows} rows differ (${s.mismatched_cells} cells, first at row ${s.first_mismatch})`).join('; ')}`,
        type: 'ReplayMismatch',
        nonRetryable: true,
        details: check,
      });
    }
    return { check, sessions: sessions.length, rows: sessions.reduce((a, s) => a + s.rows, 0), mismatched_rows: 0 };
  },
});

/**
 * pipelines.yaml's `execution` and `market_making` pipelines: `trademl validate` accepts them, the
 * compiler binds every consumed input to the intended provider (by contract, nearest upstream),
 * and the validator catches a broken wiring of the same file.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';

const file = path.join(PROJECT_ROOT, 'pipelines.yaml');
const bound = (plan: ReturnType<typeof compilePlan>, step: string, input: string) => (plan.steps.find((s) => s.id === step)!.inputs[input] ?? []).map((b) => `${b.step}.${b.output}`);

describe('execution and market_making pipelines', () => {
  it('`trademl validate` accepts pipelines.yaml', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin/trademl.mjs'), 'validate', file], { cwd: PROJECT_ROOT });
    expect(stdout).toMatch(/pipelines\.yaml: valid/);
    expect(validateSpecText(readFileSync(file, 'utf8'), 'pipelines.yaml').diagnostics).toEqual([]);
  }, 60_000);

  it('binds the execution studies to the LOB ingest, the exits to the audited panel, the report to every study', () => {
    const plan = compilePlan(loadSpec(file), 'execution');
    for (const s of ['replay', 'impact', 'schedules', 'rl', 'order_type', 'cost_model']) {
      expect(bound(plan, s, 'messages')).toEqual(['ingest.messages']);
      expect(bound(plan, s, 'book')).toEqual(['ingest.book']);
    }
    expect(bound(plan, 'exits', 'prices')).toEqual(['audit.curated']);
    expect(bound(plan, 'exits', 'quality')).toEqual(['audit.quality']);
    expect(bound(plan, 'report', 'replay')).toEqual(['replay.check']);
    expect(bound(plan, 'report', 'shortfall').sort()).toEqual(['rl.shortfall', 'schedules.shortfall']);
    expect(bound(plan, 'report', 'exits')).toEqual(['exits.exits']);
    expect(plan.steps.find((s) => s.id === 'rl')!.with).toMatchObject({ episodes: 2000, eval_stride_seconds: 20, symbol: 'GOOG' });
  });

  it('binds each RL market maker to its own venue\'s calibration and market data', () => {
    const plan = compilePlan(loadSpec(file), 'market_making', { params: { rl_seeds: '2' } });
    expect(bound(plan, 'rl_lob', 'calibration')).toEqual(['as_lob.calibration']);
    expect(bound(plan, 'rl_lob', 'messages')).toEqual(['ingest_lob.messages']);
    expect(bound(plan, 'rl_lob', 'bars')).toEqual([]);
    expect(bound(plan, 'rl_btc', 'calibration')).toEqual(['as_btc.calibration']);
    expect(bound(plan, 'rl_eth', 'calibration')).toEqual(['as_eth.calibration']);
    expect(bound(plan, 'rl_eth', 'bars')).toEqual(['ingest_klines.table']);
    expect(bound(plan, 'report', 'mm').sort()).toEqual(['rl_btc.study', 'rl_eth.study', 'rl_lob.study']);
    expect(bound(plan, 'report', 'calibration').sort()).toEqual(['as_btc.calibration', 'as_eth.calibration', 'as_lob.calibration']);
    expect(plan.steps.find((s) => s.id === 'rl_btc')!.with).toMatchObject({ seeds: 2, episodes: 200 });
  });

  it('the validator reports an RL market maker left without its calibration', () => {
    const text = readFileSync(file, 'utf8').replace('rl_btc:        { uses: mm.rl, needs: [as_btc]', 'rl_btc:        { uses: mm.rl, needs: [ingest_klines]');
    const d = validateSpecText(text, 'pipelines.yaml').diagnostics;
    expect(d.map((x) => x.message).join('\n')).toMatch(/rl_btc.*calibration|calibration.*rl_btc/s);
  });
});

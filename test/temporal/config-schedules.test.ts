/** Connection settings from env (no secrets in logs), queue naming, schedule compilation and sync diff. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateSpecText } from '../../spec/validate.ts';
import { connectionOptions, describeSettings, temporalSettingsFromEnv } from '../../temporal/config.ts';
import { scheduleId, taskQueueName } from '../../temporal/queues.ts';
import { runWorkflowId } from '../../temporal/runs.ts';
import { desiredSchedules, diffSchedules } from '../../temporal/schedules.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-temporal-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connection settings', () => {
  it('defaults to a local dev server and the trademl queues', () => {
    const s = temporalSettingsFromEnv({});
    expect(s).toMatchObject({ address: 'localhost:7233', namespace: 'default', taskQueuePrefix: 'trademl', tls: false, searchAttributes: false });
    expect(taskQueueName(s.taskQueuePrefix, 'gpu')).toBe('trademl-gpu');
    expect(scheduleId('research', 'nightly')).toBe('research-nightly');
    expect(() => taskQueueName('bad prefix', 'cpu')).toThrow(/prefix/);
  });

  it('reads mTLS files and the API key, and never prints them', () => {
    writeFileSync(path.join(dir, 'c.pem'), 'CERT-BYTES');
    writeFileSync(path.join(dir, 'k.pem'), 'KEY-BYTES');
    const s = temporalSettingsFromEnv({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_TLS_CERT: path.join(dir, 'c.pem'), TEMPORAL_TLS_KEY: path.join(dir, 'k.pem'), TEMPORAL_API_KEY: 'sk-very-secret', TRADEML_TASK_QUEUE_PREFIX: 'prod' });
    expect(s.tls && s.tls.clientCertPair?.key.toString()).toBe('KEY-BYTES');
    expect(connectionOptions(s)).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'sk-very-secret' });
    const line = describeSettings(s);
    expect(line).toContain('queues=prod-cpu,prod-gpu');
    expect(line).toContain('tls=mTLS');
    expect(line).not.toMatch(/sk-very-secret|KEY-BYTES|CERT-BYTES/);
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS_CERT: path.join(dir, 'c.pem') })).toThrow(/together/);
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })).toThrow(/does not exist/);
  });

  it('names runs <pipeline>-<date>-<hex>', () => {
    expect(runWorkflowId('nightly', new Date(Date.UTC(2025, 0, 6, 7, 0, 5)), 0xab)).toBe('nightly-20250106-070005-00ab');
  });
});

const SPEC = (cron: string, withWeekly = true) => `
version: 1
pipelines:
  nightly:
    schedule: { cron: "${cron}", timezone: America/New_York, catchup_window: 2h }
    params: { dataset: sp500 }
    steps: { a: { uses: noop } }
  weekly:
${withWeekly ? '    schedule: { cron: "0 6 * * 6", overlap: buffer_one }' : ''}
    steps: { a: { uses: noop } }
  adhoc:
    steps: { a: { uses: noop } }
`;

describe('schedules sync', () => {
  const settings = temporalSettingsFromEnv({});
  it('compiles one Temporal Schedule per pipeline with schedule:', async () => {
    const desired = await desiredSchedules(validateSpecText(SPEC('0 2 * * 1-5'), 's.yaml').spec!, settings);
    expect(desired.map((d) => d.scheduleId)).toEqual(['trademl-nightly', 'trademl-weekly']);
    const n = desired[0]!.options;
    expect(n.spec).toEqual({ cronExpressions: ['0 2 * * 1-5'], timezone: 'America/New_York' });
    expect(n.policies).toEqual({ overlap: 'SKIP', catchupWindow: 7_200_000 });
    expect(n.action).toMatchObject({ type: 'startWorkflow', workflowType: 'pipelineWorkflow', workflowId: 'nightly', taskQueue: 'trademl-cpu', memo: { pipeline: 'nightly', params: { dataset: 'sp500' } } });
    expect((n.action.args as [{ plan: { digest: string } }])[0].plan.digest).toBe(desired[0]!.plan.digest);
    expect(desired[1]!.options.policies!.overlap).toBe('BUFFER_ONE');
  });

  it('diffs create / update / unchanged / delete, leaving unmanaged schedules alone', async () => {
    const v1 = await desiredSchedules(validateSpecText(SPEC('0 2 * * 1-5'), 's.yaml').spec!, settings);
    const v2 = await desiredSchedules(validateSpecText(SPEC('30 2 * * 1-5', false), 's.yaml').spec!, settings);
    expect(diffSchedules(v1, []).map((c) => c.action)).toEqual(['create', 'create']);
    const existing = [
      ...v1.map((d) => ({ scheduleId: d.scheduleId, pipeline: d.pipeline, fingerprint: d.fingerprint, managed: true })),
      { scheduleId: 'someone-else', managed: false },
    ];
    expect(diffSchedules(v1, existing).map((c) => c.action)).toEqual(['unchanged', 'unchanged']);
    expect(diffSchedules(v2, existing).map((c) => `${c.action} ${c.scheduleId}`)).toEqual(['update trademl-nightly', 'delete trademl-weekly']);
  });
});

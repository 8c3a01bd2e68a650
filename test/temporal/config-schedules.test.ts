/** Connection settings from env (no secrets in logs), queue naming, schedule compilation and sync diff. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateSpecText } from '../../spec/validate.ts';
import { connectionOptions, describeSettings, temporalSettingsFromEnv } from '../../temporal/config.ts';
import { scheduleId, taskQueueName } from '../../temporal/queues.ts';
import { runWorkflowId } from '../../temporal/runs.ts';
import { backfillRange, desiredSchedules, diffSchedules } from '../../temporal/schedules.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-temporal-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connection settings', () => {
  it('defaults to a local dev server and the trademl queues', () => {
    const s = temporalSettingsFromEnv({ HOME: dir });
    expect(s).toMatchObject({ address: 'localhost:7233', namespace: 'default', taskQueuePrefix: 'trademl', tls: false, searchAttributes: true });
    expect(temporalSettingsFromEnv({ HOME: dir, TRADEML_TEMPORAL_SEARCH_ATTRIBUTES: 'false' }).searchAttributes).toBe(false);
    expect(taskQueueName(s.taskQueuePrefix, 'gpu')).toBe('trademl-gpu');
    expect(scheduleId('research', 'nightly')).toBe('research-nightly');
    expect(() => taskQueueName('bad prefix', 'cpu')).toThrow(/prefix/);
  });

  it("reads Temporal's standard names (mTLS paths, API key), never prints them, and refuses the old names", () => {
    writeFileSync(path.join(dir, 'c.pem'), 'CERT-BYTES');
    writeFileSync(path.join(dir, 'k.pem'), 'KEY-BYTES');
    const s = temporalSettingsFromEnv({ HOME: dir, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'c.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'k.pem'), TEMPORAL_API_KEY: 'sk-very-secret', TRADEML_TASK_QUEUE_PREFIX: 'prod' });
    expect(s.tls && s.tls.clientCertPair?.key.toString()).toBe('KEY-BYTES');
    expect(s.tls && s.tls.clientCertPair?.crt.toString()).toBe('CERT-BYTES');
    expect(connectionOptions(s)).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'sk-very-secret' });
    const line = describeSettings(s);
    expect(line).toContain('queues=prod-cpu,prod-gpu');
    expect(line).toContain('tls=mTLS');
    expect(line).toContain('api_key=set');
    expect(line).not.toMatch(/sk-very-secret|KEY-BYTES|CERT-BYTES/);
    expect(() => temporalSettingsFromEnv({ HOME: dir, TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'c.pem') })).toThrow(/together/);
    expect(() => temporalSettingsFromEnv({ HOME: dir, TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'missing.pem') })).toThrow(/does not exist/);
    // the names TradeML read before: an mTLS setup copied from the temporal CLI must not connect without its certificate
    expect(() => temporalSettingsFromEnv({ HOME: dir, TEMPORAL_TLS_CERT: path.join(dir, 'c.pem') })).toThrow(/TEMPORAL_TLS_CLIENT_CERT_PATH/);
    // an API key alone turns TLS on (Temporal Cloud); TEMPORAL_TLS=false turns it off
    expect(temporalSettingsFromEnv({ HOME: dir, TEMPORAL_API_KEY: 'k' }).tls).toEqual({});
    expect(temporalSettingsFromEnv({ HOME: dir, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBe(false);
  });

  it('reads profiles from the TOML config file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE); env overrides the profile', () => {
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(file, ['[profile.prod]', 'address = "prod.example:7233"', 'namespace = "research"', 'api_key = "sk-profile-secret"', '[profile.prod.grpc_meta]', 'x-team = "quant"', ''].join('\n'));
    const s = temporalSettingsFromEnv({ HOME: dir, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    expect(s).toMatchObject({ address: 'prod.example:7233', namespace: 'research', apiKey: 'sk-profile-secret', tls: {}, metadata: { 'x-team': 'quant' } });
    expect(describeSettings(s)).not.toContain('sk-profile-secret');
    expect(describeSettings(s)).not.toContain('quant');
    expect(temporalSettingsFromEnv({ HOME: dir, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' }).namespace).toBe('other');
    expect(() => temporalSettingsFromEnv({ HOME: dir, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' })).toThrow(/profile "nope".*not found/);
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
  const settings = temporalSettingsFromEnv({ HOME: dir });
  it('compiles one Temporal Schedule per pipeline with schedule:', async () => {
    const desired = await desiredSchedules(validateSpecText(SPEC('0 2 * * 1-5'), 's.yaml').spec!, settings);
    expect(desired.map((d) => d.scheduleId)).toEqual(['trademl-nightly', 'trademl-weekly']);
    const n = desired[0]!.options;
    expect(n.spec).toEqual({ cronExpressions: ['0 2 * * 1-5'], timezone: 'America/New_York' });
    expect(n.policies).toEqual({ overlap: 'SKIP', catchupWindow: 7_200_000 });
    // run ids carry the prefix: the server appends the scheduled time to `trademl-nightly`
    expect(n.action).toMatchObject({ type: 'startWorkflow', workflowType: 'pipelineWorkflow', workflowId: 'trademl-nightly', taskQueue: 'trademl-cpu', memo: { pipeline: 'nightly', params: { dataset: 'sp500' } } });
    expect((n.action.args as [{ plan: { digest: string }; handOff: boolean }])[0]).toMatchObject({ plan: { digest: desired[0]!.plan.digest }, handOff: true });
    expect(n.state).toMatchObject({ paused: false });
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
    // pausing is the operator's call after creation: `paused:` in the file does not make a change
    const pausedSpec = SPEC('0 2 * * 1-5').replace('catchup_window: 2h', 'catchup_window: 2h, paused: true');
    const v3 = await desiredSchedules(validateSpecText(pausedSpec, 's.yaml').spec!, settings);
    expect(v3[0]!.options.state).toMatchObject({ paused: true });
    expect(diffSchedules(v3, existing)[0]!.action).toBe('unchanged');
  });

  it('backfill dates are whole UTC days, both included', () => {
    expect(backfillRange('2025-01-06', '2025-01-08')).toEqual({ from: new Date('2025-01-06T00:00:00.000Z'), to: new Date('2025-01-08T23:59:59.999Z') });
    expect(backfillRange('2025-01-06T07:00:00Z', '2025-01-06T07:00:01Z').to).toEqual(new Date('2025-01-06T07:00:01Z'));
    expect(() => backfillRange('2025-01-08', '2025-01-06T00:00:00Z')).toThrow(/before/);
    expect(() => backfillRange('yesterday', '2025-01-06')).toThrow(/not a date/);
  });
});

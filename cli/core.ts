import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compilePlan, loadSpec, parseParamArgs } from '../spec/compile.ts';
import { formatDiagnostic } from '../spec/source.ts';
import { validateSpecText } from '../spec/validate.ts';
import { renderReference } from '../spec/reference.ts';
import { UserError } from '../lib/errors.ts';
import { formatDuration } from '../lib/duration.ts';
import { stateHome } from '../lib/paths.ts';
import { EmbeddedRuntime, cliUser, readRunLog, type RunOutcome } from '../embedded/runtime.ts';
import { ProgressRenderer, describeStep } from './render.ts';
import { observerFor, printRunSummary } from './observe.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Resolved state home from the global `--home` option. */
export function homeOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { home?: string };
  return path.resolve(opts.home ?? stateHome());
}

/**
 * Text safe to print on a terminal: control characters other than newline and tab (ESC, CR, BEL,
 * DEL, the C1 range such as CSI) and bidirectional overrides are shown as `\xNN` / `\uNNNN`
 * instead of being sent raw, so a comment or an approver name cannot move the cursor, rewrite
 * lines or change the terminal. Printable text is unchanged.
 */
export function sanitizeForTerminal(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** JSON for stdout: JSON.stringify escapes C0 controls; DEL, C1 and bidi controls are escaped too (still valid JSON). */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? terminalJson(value) + '\n' : sanitizeForTerminal(human()) + '\n');
}

/** An operator or approver name: refused when empty or holding control characters (it is recorded and shown). */
function personName(name: string, flag: string): string {
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(name)) throw new UserError(`${flag} must be a plain name: it holds control characters (${sanitizeForTerminal(name).slice(0, 80)})`);
  if (name.length > 200) throw new UserError(`${flag} is ${name.length} characters long — use at most 200`);
  return name;
}

/** A positive integer CLI option (`-n`), at most `max`; anything else (`abc`, `0x10`, `1e3`) is a usage error. */
function positiveInt(flag: string, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new UserError(`${flag} must be a whole number from 1 to ${max}, got "${sanitizeForTerminal(v).slice(0, 40)}"`);
    return n;
  };
}

/** Runs a runtime action with SIGINT/SIGTERM leaving the run resumable; sets the exit code. */
async function drive(cmd: Command, json: boolean, fn: (rt: EmbeddedRuntime) => Promise<RunOutcome | undefined>, rtOpts: { autoApprove?: string; noWait?: boolean; noCache?: boolean } = {}): Promise<void> {
  const home = homeOf(cmd);
  const renderer = json ? undefined : new ProgressRenderer();
  const rt = new EmbeddedRuntime({
    home,
    observer: await observerFor(home),
    onEvent: renderer?.handle,
    autoApprove: rtOpts.autoApprove,
    waitForApproval: !rtOpts.noWait,
    noCache: rtOpts.noCache,
  });
  const onSignal = () => {
    process.stderr.write('\ninterrupting: stopping running steps, the run stays resumable…\n');
    rt.interrupt();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const t0 = Date.now();
  const out = await fn(rt);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (!out) {
    print(json, { recorded: true }, () => 'decision recorded; the live run process picks it up');
    return;
  }
  if (json) print(true, out, () => '');
  else await printRunSummary(rt, out, Date.now() - t0);
  process.exitCode = out.status === 'succeeded' || out.status === 'waiting_approval' ? 0 : out.status === 'interrupted' ? 130 : 1;
}

/** Registers validate, plan, run, runs, status, logs, retry, resume, skip, abort, approve, reject, schema. */
export function registerCoreCommands(program: Command): void {
  program
    .command('validate')
    .description('check pipelines.yaml: every problem at once, as file:line:col')
    .argument('[file]', 'spec file', 'pipelines.yaml')
    .option('--json', 'machine-readable output')
    .action((file: string, o: { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new UserError(`${file}: cannot read the file — check the path`);
      }
      const r = validateSpecText(text, file);
      if (!o.json) for (const w of r.warnings) process.stderr.write(`${sanitizeForTerminal(formatDiagnostic(w)).replace(': ', ': warning: ')}\n`);
      print(!!o.json, { file, valid: r.diagnostics.length === 0, diagnostics: r.diagnostics, warnings: r.warnings }, () =>
        r.diagnostics.length ? r.diagnostics.map(formatDiagnostic).join('\n') + `\n${r.diagnostics.length} problem(s)` : `${file}: valid (${Object.keys(r.spec!.pipelines).length} pipelines)`,
      );
      process.exitCode = r.diagnostics.length ? 2 : 0; // bad input, as every usage error
    });

  program
    .command('plan')
    .description('print the compiled plan of a pipeline (JSON, with its digest)')
    .argument('<pipeline>')
    .option('-f, --file <file>', 'spec file', 'pipelines.yaml')
    .option('-p, --param <k=v>', 'override a param (repeatable)', collect)
    .action((pipeline: string, o: { file: string; param?: string[] }) => {
      print(true, compilePlan(loadSpec(o.file), pipeline, { params: parseParamArgs(o.param) }), () => '');
    });

  program
    .command('run')
    .description('run a pipeline in the embedded runtime, with live progress')
    .argument('<pipeline>')
    .option('-f, --file <file>', 'spec file', 'pipelines.yaml')
    .option('-p, --param <k=v>', 'override a param (repeatable)', collect)
    .option('--no-cache', 'ignore cached step results')
    .addOption(new Option('--concurrency <n>', 'steps running at once').argParser(positiveInt('--concurrency', 1024)))
    .option('--auto-approve', 'approve approval steps at once, recording the CLI user as approver (demos)')
    .option('--no-wait', 'return when the run waits for an approval instead of waiting for it')
    .option('--json', 'print the outcome as JSON (no live progress)')
    .action(async (pipeline: string, o: { file: string; param?: string[]; cache: boolean; concurrency?: number; autoApprove?: boolean; wait: boolean; json?: boolean }, cmd: Command) => {
      const plan = compilePlan(loadSpec(o.file), pipeline, { params: parseParamArgs(o.param), concurrency: o.concurrency });
      await drive(cmd, !!o.json, (rt) => rt.start(plan), { autoApprove: o.autoApprove ? cliUser() : undefined, noWait: !o.wait, noCache: !o.cache });
    });

  program
    .command('runs')
    .description('list recent runs')
    .option('--pipeline <name>', 'only this pipeline')
    .addOption(new Option('-n, --limit <n>', 'how many (1–10000)').default(20).argParser(positiveInt('--limit', 10_000)))
    .option('--json', 'machine-readable output')
    .action(async (o: { pipeline?: string; limit: number; json?: boolean }, cmd: Command) => {
      const rt = new EmbeddedRuntime({ home: homeOf(cmd) });
      const runs = (await rt.store.listRuns(o.limit, o.pipeline)).map((r) => ({ ...r, status: rt.shownStatus(r) }));
      rt.store.close();
      print(!!o.json, runs.map(({ plan, ...r }) => ({ ...r, steps: plan.steps.length })), () =>
        runs.length
          ? runs.map((r) => `${r.run_id.padEnd(40)} ${r.status.padEnd(17)} ${new Date(r.created_at).toISOString()}  ${r.ended_at ? formatDuration(r.ended_at - r.created_at) : ''}`).join('\n')
          : 'no runs yet — start one with: trademl run <pipeline>',
      );
    });

  program
    .command('status')
    .description("a run's DAG: each step's state, attempts, duration, cache hit")
    .argument('<run-id>')
    .option('--json', 'machine-readable output')
    .action(async (runId: string, o: { json?: boolean }, cmd: Command) => {
      const rt = new EmbeddedRuntime({ home: homeOf(cmd) });
      const stored = await rt.store.getRun(runId);
      const run = { ...stored, status: rt.shownStatus(stored) };
      const { state } = await rt.store.getState(runId);
      // a dead run's unfinished attempts are interrupted (resume records it; until then they show so)
      const dead = run.status === 'interrupted';
      const attempts = (await rt.store.attempts(runId)).map((a) => (dead && a.status === 'running' && a.ended_at === null ? { ...a, status: 'interrupted' } : a));
      rt.store.close();
      const width = Math.max(8, ...run.plan.steps.map((s) => s.id.length));
      print(!!o.json, { run: { ...run, plan: undefined, plan_digest: run.plan.digest }, steps: run.plan.steps.map((s) => ({ id: s.id, uses: s.uses, needs: s.needs, ...state.steps[s.id] })), attempts }, () => {
        const lines = [`run ${run.run_id} — ${run.pipeline} — ${run.status}`, ''];
        for (const s of run.plan.steps) {
          const st = state.steps[s.id]!;
          lines.push(`${describeStep(s.id, st, width)}   [${s.uses}${s.needs.length ? ` ← ${s.needs.join(', ')}` : ''}]`);
          if (st.status === 'waiting_approval') {
            const show = s.control?.show.length ? s.control.show : s.needs;
            for (const id of show) lines.push(...approvalTable(id, state.steps[id]?.outputs ?? state.steps[id]?.error));
            lines.push(`    decide: trademl approve ${run.run_id} ${s.id} --by NAME [--comment TEXT]  |  trademl reject …`);
          }
        }
        return lines.join('\n');
      });
    });

  program
    .command('logs')
    .description("print a run's step logs")
    .argument('<run-id>')
    .option('--step <id>', 'only this step')
    .action(async (runId: string, o: { step?: string }, cmd: Command) => {
      const home = homeOf(cmd);
      const rt = new EmbeddedRuntime({ home });
      const run = await rt.store.getRun(runId);
      rt.store.close();
      if (o.step && !run.plan.steps.some((s) => s.id === o.step)) throw new UserError(`run ${runId} has no step "${o.step}"`);
      const lines = readRunLog(home, runId, o.step);
      if (!lines.length) process.stderr.write(`no log lines for run ${runId}${o.step ? ` step ${o.step}` : ''}\n`);
      for (const j of lines) {
        process.stdout.write(sanitizeForTerminal(`${new Date(j.time).toISOString()} ${j.step ?? '-'}#${j.attempt ?? 1} ${j.level >= 50 ? 'ERROR' : j.level >= 40 ? 'WARN ' : 'INFO '} ${j.msg}`) + '\n');
      }
    });

  program
    .command('retry')
    .description('re-run the failed steps (or --from a step) and what depends on them, reusing every other output')
    .argument('<run-id>')
    .option('--from <step>', 're-run this step and its dependents')
    .option('--auto-approve', 'approve approval steps at once (demos)')
    .option('--json', 'print the outcome as JSON')
    .action(async (runId: string, o: { from?: string; autoApprove?: boolean; json?: boolean }, cmd: Command) => {
      await drive(cmd, !!o.json, (rt) => rt.retry(runId, o.from), { autoApprove: o.autoApprove ? cliUser() : undefined });
    });

  program
    .command('resume')
    .description('continue a run whose process died, without re-running completed steps')
    .argument('<run-id>')
    .option('--auto-approve', 'approve approval steps at once (demos)')
    .option('--json', 'print the outcome as JSON')
    .action(async (runId: string, o: { autoApprove?: boolean; json?: boolean }, cmd: Command) => {
      await drive(cmd, !!o.json, (rt) => rt.resume(runId), { autoApprove: o.autoApprove ? cliUser() : undefined });
    });

  program
    .command('skip')
    .description('give up on a failed step and let its dependents run (continues the run in this process)')
    .argument('<run-id>')
    .argument('<step>')
    .option('--by <name>', 'operator name (recorded)', cliUser())
    .option('--json', 'print the outcome as JSON')
    .action(async (runId: string, step: string, o: { by: string; json?: boolean }, cmd: Command) => {
      await drive(cmd, !!o.json, (rt) => rt.skip(runId, step, personName(o.by, '--by')));
    });

  program
    .command('abort')
    .description('abort a run: running steps are cancelled, nothing else starts, the run ends cancelled')
    .argument('<run-id>')
    .option('--by <name>', 'operator name (recorded)', cliUser())
    .option('--reason <text>', 'why (recorded)', '')
    .option('--json', 'print the outcome as JSON')
    .action(async (runId: string, o: { by: string; reason: string; json?: boolean }, cmd: Command) => {
      await drive(cmd, !!o.json, (rt) => rt.abort(runId, personName(o.by, '--by'), o.reason));
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a run waiting at an approval step (continues the run if no process drives it)`)
      .argument('<run-id>')
      .argument('<step>')
      .requiredOption('--by <name>', 'who decides (recorded in the tracker)')
      .option('--comment <text>', 'why', '')
      .option('--json', 'print the outcome as JSON')
      .action(async (runId: string, step: string, o: { by: string; comment: string; json?: boolean }, cmd: Command) => {
        await drive(cmd, !!o.json, (rt) => rt.decide(runId, step, decision, personName(o.by, '--by'), o.comment));
      });
  }

  program
    .command('schema')
    .description('print the pipelines.yaml reference (generated from the schemas and step kinds); --contracts: the artifact contracts')
    .option('--contracts', 'print the artifact contracts reference (docs/contracts.md) instead')
    .action(async (o: { contracts?: boolean }) => {
      if (o.contracts) {
        const { renderContracts } = await import('../contracts/docs.ts');
        process.stdout.write(renderContracts());
      } else process.stdout.write(renderReference());
    });
}

/** Lines showing an upstream step's outputs to an approver (gate tables as a table). */
export function approvalTable(id: string, value: unknown): string[] {
  // gate.governance publishes `bars` (in its outputs, or in error.details when it failed)
  const v = value as { bars?: unknown; verdict?: { bars?: unknown }; details?: { bars?: unknown; verdict?: { bars?: unknown } } } | null;
  const bars = [v?.verdict?.bars, v?.bars, v?.details?.verdict?.bars, v?.details?.bars].find(Array.isArray) as { id: string; value: unknown; threshold: unknown; op?: string; pass: boolean; blocking?: boolean }[] | undefined;
  if (bars) {
    return [`    ${id}:`, ...bars.map((b) => ({ bar: `${b.id}${b.blocking === false ? ' (info)' : ''}`, value: b.value, threshold: b.threshold, op: b.op, passed: b.pass })).map((r) => `      ${r.passed ? '✔' : '✖'} ${String(r.bar).padEnd(28)} ${fmt(r.value).padStart(10)} ${r.op ?? ''} ${fmt(r.threshold)}`)];
  }
  const scalars = Object.entries((value ?? {}) as Record<string, unknown>).filter(([, x]) => typeof x !== 'object' || x === null);
  return [`    ${id}: ${scalars.map(([k, x]) => `${k}=${fmt(x)}`).join('  ')}`];
}

function fmt(x: unknown): string {
  return typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(4)) : String(x);
}

/**
 * Issue 16, item 1 (command injection): values reach a `shell` command only as environment
 * variables, never as command text; an interpolated value is never interpolated again; the child
 * gets a minimal environment. Every vector here executed on the old main.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { kinds as builtinKinds } from '../../kinds/builtin/index.ts';
import { bindCommandValues, quoteContextAt } from '../../kinds/builtin/command.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

const KINDS = new Map(builtinKinds.map((k) => [k.uses, k]));

/** Every file below `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** A pipeline echoing `greeting` unquoted, single-quoted and double-quoted, then re-echoing the first step's stdout. */
function spec(dir: string): string {
  return `version: 1
pipelines:
  demo:
    params: { greeting: hello }
    steps:
      hello: { uses: shell, with: { cwd: "${dir}", run: "echo \${{ params.greeting }}; echo '\${{ params.greeting }}'; echo \\"\${{ params.greeting }}\\"" } }
      again: { uses: shell, needs: [hello], with: { cwd: "${dir}", run: "echo \${{ steps.hello.outputs.stdout_tail }}" } }
`;
}

async function run(dir: string, greeting: string) {
  const plan = planFromYaml(spec(dir), 'demo', { params: { greeting } });
  const rt = new EmbeddedRuntime({ home: path.join(dir, 'home') });
  const out = await rt.start(plan);
  expect(out.status, JSON.stringify(out.state.steps)).toBe('succeeded');
  return { hello: String(out.state.steps.hello!.outputs!.stdout_tail), again: String(out.state.steps.again!.outputs!.stdout_tail), plan };
}

const VECTORS: [string, string][] = [
  ['command substitution', '$(touch PWNED)'],
  ['backticks', '`touch PWNED`'],
  ['a second command', 'x; touch PWNED'],
  ['a single-quote break-out', "'; touch PWNED; echo '"],
  ['a double-quote break-out', '"; touch PWNED; echo "'],
  ['a newline', 'x\ntouch PWNED'],
  ['a pipe and redirection', 'x | tee PWNED > PWNED'],
  ['an ANSI-C quote break-out', "$'\\x27'; touch PWNED"],
];

describe('shell: values are data, never command text', () => {
  it.each(VECTORS)('%s in a param executes nothing and reaches the command verbatim', async (_name, value) => {
    const dir = tempDir();
    const r = await run(dir, value);
    expect(existsSync(path.join(dir, 'PWNED'))).toBe(false);
    // unquoted, '…' and "…" each print exactly the value; the downstream step prints it again
    expect(r.hello).toBe(`${value}\n${value}\n${value}\n`);
    expect(r.again).toBe(`${r.hello}\n`);
    // the command text holds variable references only
    const cmd = String(r.plan.steps.find((s) => s.id === 'hello')!.with.run);
    expect(cmd).not.toContain('PWNED');
    expect(cmd).toBe('echo "${TRADEML_VALUE_1}"; echo \'\'"${TRADEML_VALUE_2}"\'\'; echo "${TRADEML_VALUE_3}"');
  });

  it('a param whose value is an expression is never evaluated (second-order interpolation)', async () => {
    const dir = tempDir();
    const r = await run(dir, '${{ steps.hello.outputs.exit_code }}');
    expect(r.hello.split('\n')[0]).toBe('${{ steps.hello.outputs.exit_code }}');
  });

  it('a literal $${{ stays literal text', () => {
    const plan = planFromYaml(spec('/tmp').replace('greeting: hello', 'greeting: "$${{ not.an.expression }}"'), 'demo');
    expect(plan.steps[0]!.with.env).toEqual({ TRADEML_VALUE_1: '$${{ not.an.expression }}', TRADEML_VALUE_2: '$${{ not.an.expression }}', TRADEML_VALUE_3: '$${{ not.an.expression }}' });
  });
});

describe('shell: minimal environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  });

  it('secrets of the trademl process do not reach the command; a `$TOKEN` param is not expanded; inherit_env passes one on purpose', async () => {
    const dir = tempDir();
    process.env.MLFLOW_TRACKING_TOKEN = 'secret-token-123';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-key-456';
    const r = await run(dir, '$MLFLOW_TRACKING_TOKEN');
    expect(r.hello).toBe('$MLFLOW_TRACKING_TOKEN\n'.repeat(3));

    const text = `version: 1
pipelines:
  envs:
    steps:
      plain: { uses: shell, with: { run: "env" } }
      named: { uses: shell, with: { run: "env", inherit_env: [AWS_SECRET_ACCESS_KEY], env: { MODE: fast, N: 3 } } }
`;
    const out = await new EmbeddedRuntime({ home: path.join(dir, 'home2') }).start(planFromYaml(text, 'envs'));
    const plain = String(out.state.steps.plain!.outputs!.stdout_tail);
    const named = String(out.state.steps.named!.outputs!.stdout_tail);
    expect(plain).not.toContain('secret-token-123');
    expect(plain).not.toContain('secret-key-456');
    expect(plain).toMatch(/^PATH=/m);
    expect(plain).toMatch(/^TRADEML_STEP_ID=plain$/m);
    expect(named).toMatch(/^AWS_SECRET_ACCESS_KEY=secret-key-456$/m);
    expect(named).not.toContain('secret-token-123');
    expect(named).toMatch(/^MODE=fast$/m);
    expect(named).toMatch(/^N=3$/m);
    // the token reached neither the log, nor the run state, nor the cache of the first run
    const leaked = filesUnder(path.join(dir, 'home')).filter((f) => readFileSync(f).includes('secret-token-123'));
    expect(leaked).toEqual([]);
  });
});

describe('shell: validate warns about ${{ }} in a command and shows the safe pattern', () => {
  it('warns (not an error) at the run field', () => {
    const r = validateSpecText(spec('/tmp'), 'p.yaml', KINDS);
    expect(r.diagnostics).toEqual([]);
    expect(r.warnings.map((w) => `${w.line}:${w.col}`)).toEqual(['6:55', '7:71']);
    expect(r.warnings[0]!.message).toContain('passed as an environment variable');
    expect(r.warnings[0]!.hint).toContain('env: { GREETING: "${{ params.greeting }}" } and use "$GREETING"');
  });

  it('the explicit env pattern gets no warning', () => {
    const text = 'version: 1\npipelines:\n  d:\n    params: { g: hi }\n    steps:\n      a: { uses: shell, with: { env: { G: "${{ params.g }}" }, run: \'echo "$G"\' } }\n';
    expect(validateSpecText(text, 'p.yaml', KINDS).warnings).toEqual([]);
  });
});

describe('command rewriting', () => {
  it('knows the quoting context of each offset', () => {
    const cmd = `a 'b' "c\\"d" $'e\\'f' g`;
    expect(quoteContextAt(cmd, 1)).toBe('none');
    expect(quoteContextAt(cmd, 4)).toBe('single');
    expect(quoteContextAt(cmd, 9)).toBe('double');
    expect(quoteContextAt(cmd, 16)).toBe('ansi');
    expect(quoteContextAt(cmd, cmd.length)).toBe('none');
  });

  it('skips variable names the step already uses and leaves malformed expressions to the validator', () => {
    const b = bindCommandValues('x ${{ params.a }} ${{ nope }}', new Set(['TRADEML_VALUE_1']));
    expect(b).toEqual({ command: 'x "${TRADEML_VALUE_2}" ${{ nope }}', env: { TRADEML_VALUE_2: '${{ params.a }}' } });
  });
});

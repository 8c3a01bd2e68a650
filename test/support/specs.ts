import { UserError } from '../../lib/errors.ts';
import type { Plan } from '../../engine/plan.ts';
import { compilePlan, type CompileOptions } from '../../spec/compile.ts';
import { formatDiagnostic } from '../../spec/source.ts';
import { validateSpecText } from '../../spec/validate.ts';

/** Validates and compiles a pipelines.yaml text (throws with the diagnostics when invalid). */
export function planFromYaml(text: string, pipeline: string, opts: CompileOptions = {}): Plan {
  const r = validateSpecText(text, 'test.yaml');
  if (r.diagnostics.length) throw new UserError(r.diagnostics.map(formatDiagnostic).join('\n'));
  return compilePlan(r.spec!, pipeline, opts);
}

/**
 * The pipeline workflow after a careless change: it now pauses one minute before running the plan
 * (a new timer command) for every run, including the ones already in flight. Replaying the
 * recorded histories with it must fail with a determinism error.
 */
import { sleep } from '@temporalio/workflow';
import type { PipelineInput } from '../../../temporal/workflow/api.ts';
import { pipelineWorkflow as original } from '../../../temporal/workflow/pipeline.ts';

/** The changed workflow (same type name). */
export async function pipelineWorkflow(input: PipelineInput) {
  await sleep('1 minute');
  return original(input);
}

/**
 * The same change done right: behind `patched()`, so runs recorded before it replay as they ran
 * and only new runs take the new path. Replaying the recorded histories with it must succeed.
 */
import { patched, sleep } from '@temporalio/workflow';
import type { PipelineInput } from '../../../temporal/workflow/api.ts';
import { pipelineWorkflow as original } from '../../../temporal/workflow/pipeline.ts';

/** The changed workflow (same type name). */
export async function pipelineWorkflow(input: PipelineInput) {
  if (patched('trademl-test-pause-before-run')) await sleep('1 minute');
  return original(input);
}

/**
 * The pipeline workflow after a careless, non-versioned change: it now pauses one minute before
 * running the plan (a new timer command). Replaying old histories with it must fail.
 */
import { sleep } from '@temporalio/workflow';
import type { PipelineInput } from '../../../temporal/workflow/api.ts';
import { pipelineWorkflow as original } from '../../../temporal/workflow/pipeline.ts';

export async function pipelineWorkflow(input: PipelineInput) {
  await sleep('1 minute');
  return original(input);
}

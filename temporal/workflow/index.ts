/** Workflow bundle entry (`workflowsPath`): every workflow type the TradeML workers register. */
export { pipelineWorkflow } from './pipeline.ts';

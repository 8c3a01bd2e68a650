import { z } from 'zod';
import { defineStepKind } from '../types.ts';

/** Does nothing; returns `with.outputs` unchanged (handy to pass constants downstream). */
export const noop = defineStepKind({
  uses: 'noop',
  version: '1',
  description: 'Does nothing; returns `with.outputs` as its outputs.',
  with: z.object({ outputs: z.record(z.string(), z.unknown()).default({}).describe('the outputs to return') }).strict(),
  outputs: z.record(z.string(), z.unknown()).describe('`with.outputs`, unchanged'),
  async run(_ctx, w) {
    return w.outputs;
  },
});

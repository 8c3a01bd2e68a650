/**
 * The modelling panel moved to cv/panel.ts (the CPCV protocol's panel loader). Re-exported here for
 * the learner tests and bench (test/models/*, bench/learners.ts) until they import cv/panel.ts.
 */
export { loadPanel, lowerBound, type Panel } from '../../cv/panel.ts';

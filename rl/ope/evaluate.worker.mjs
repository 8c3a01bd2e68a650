// Plain-JS bootstrap of the OPE worker thread: registers tsx in this thread so the TypeScript entry
// (evaluate.worker.ts) loads whether or not the parent runs under tsx (as rl/trainer.worker.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./evaluate.worker.ts');

// Plain-JS bootstrap of the execution-study worker thread: registers tsx in this thread so the
// TypeScript entry (worker_entry.ts) loads whether or not the parent runs under tsx (the same
// bootstrap as rl/trainer.worker.mjs: execArgv ['--import', 'tsx'] does not register it on Node 20).
import { register } from 'tsx/esm/api';

register();
await import('./worker_entry.ts');

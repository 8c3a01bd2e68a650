// Plain-JS bootstrap of the training worker: registers tsx in this thread so the TypeScript entry
// (trainer.worker.ts) loads whether or not the parent process runs under tsx. (Passing
// execArgv ['--import', 'tsx'] to the Worker did not register the loader in the worker on Node 20.)
import { register } from 'tsx/esm/api';

register();
await import('./trainer.worker.ts');

#!/usr/bin/env node
// Entry point of the `trademl` CLI: registers tsx so the TypeScript sources run directly.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');

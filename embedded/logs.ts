/** Step logs of embedded runs: JSON lines in `<home>/logs/<run-id>.log`, one field `step` per line. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';

const loggers = new Map<string, pino.Logger>();

/** The run's logger (synchronous appends, so a crash loses no line). */
export function runLogger(home: string, runId: string): pino.Logger {
  const f = path.join(home, 'logs', `${runId}.log`);
  let l = loggers.get(f);
  if (!l) {
    mkdirSync(path.dirname(f), { recursive: true });
    l = pino({ level: process.env.TRADEML_STEP_LOG_LEVEL ?? 'info', base: undefined }, pino.destination({ dest: f, sync: true, append: true }));
    loggers.set(f, l);
  }
  return l;
}

/** A run's log lines (parsed JSON), optionally of one step only; empty when nothing was logged. */
export function readRunLog(home: string, runId: string, stepId?: string): { time: number; level: number; msg: string; step?: string; attempt?: number }[] {
  const f = path.join(home, 'logs', `${runId}.log`);
  if (!existsSync(f)) return [];
  const out = [];
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line) as { time: number; level: number; msg: string; step?: string; attempt?: number };
      if (!stepId || j.step === stepId) out.push(j);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  return out;
}

import cliProgress from 'cli-progress';
import type { RuntimeEvent } from '../embedded/runtime.ts';
import type { StepState } from '../engine/scheduler.ts';
import { formatDuration } from '../lib/duration.ts';

const ICON: Record<string, string> = { succeeded: '✔', failed: '✖', skipped: '○', running: '▶', retry_wait: '↻', waiting_approval: '⏸', pending: '·' };

/**
 * Live progress for `trademl run`: one line per step state change (with duration, attempts and
 * cache hits) and, on a TTY, a progress bar per running step that reports progress.
 * Off a TTY (CI, pipes) progress is printed as occasional lines instead of bars.
 */
export class ProgressRenderer {
  private readonly bars?: cliProgress.MultiBar;
  private readonly active = new Map<string, cliProgress.SingleBar>();
  private readonly lastPct = new Map<string, number>();
  private width = 12;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    if (out.isTTY) {
      this.bars = new cliProgress.MultiBar(
        { format: ' {bar} {percentage}% | {step} {message}', hideCursor: true, clearOnComplete: true, stopOnComplete: false, barsize: 24, stream: out },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  handle = (e: RuntimeEvent): void => {
    switch (e.type) {
      case 'run_started':
        this.width = Math.max(8, ...e.plan.steps.map((s) => s.id.length));
        this.line(`${e.resumed ? 'continuing' : 'started'} run ${e.runId} (${e.plan.pipeline}, ${e.plan.steps.length} steps, plan ${e.plan.digest.slice(7, 19)})`);
        break;
      case 'step_started':
        this.line(`${ICON.running} ${e.stepId.padEnd(this.width)} started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}${e.queue === 'gpu' ? ' [gpu]' : ''}`);
        break;
      case 'step_progress': {
        const pct = Math.round((e.progress.fraction ?? 0) * 100);
        if (this.bars) {
          let bar = this.active.get(e.stepId);
          if (!bar) {
            bar = this.bars.create(100, 0, { step: e.stepId, message: '' });
            this.active.set(e.stepId, bar);
          }
          bar.update(pct, { step: e.stepId, message: e.progress.message ?? '' });
        } else if (pct - (this.lastPct.get(e.stepId) ?? -100) >= 25) {
          this.lastPct.set(e.stepId, pct);
          this.line(`  ${e.stepId.padEnd(this.width)} ${String(pct).padStart(3)}% ${e.progress.message ?? ''}`);
        }
        break;
      }
      case 'step_retry_wait':
        this.stopBar(e.stepId);
        this.line(`${ICON.retry_wait} ${e.stepId.padEnd(this.width)} attempt ${e.state.attempt} failed: ${firstLine(e.state.error?.message)} — retrying in ${formatDuration((e.state.retryAt ?? 0) - Date.now())}`);
        break;
      case 'step_finished':
        this.stopBar(e.stepId);
        this.line(describeStep(e.stepId, e.state, this.width));
        break;
      case 'approval_waiting':
        this.line(`${ICON.waiting_approval} ${e.stepId.padEnd(this.width)} waiting for approval: trademl approve ${e.runId} ${e.stepId} --by NAME   (or: trademl reject …)`);
        break;
      case 'run_finished':
        this.bars?.stop();
        break;
    }
  };

  private stopBar(id: string): void {
    const bar = this.active.get(id);
    if (bar) {
      this.bars!.remove(bar);
      this.active.delete(id);
    }
  }

  private line(s: string): void {
    if (this.bars) this.bars.log(s + '\n');
    else this.out.write(s + '\n');
  }
}

/** One status line of a step: icon, id, state, duration, attempts, cache hit, error. */
export function describeStep(id: string, s: StepState, width = 12): string {
  const dur = s.startedAt && s.endedAt ? formatDuration(s.endedAt - s.startedAt) : '';
  const bits = [ICON[s.status] ?? '?', id.padEnd(width), s.status === 'succeeded' && s.cacheHit ? 'cached' : s.status === 'failed' && s.cacheHit ? 'failed (cached verdict)' : s.status.replace('_', ' ')];
  if (dur) bits.push(dur);
  if (s.attempt > 1) bits.push(`(${s.attempt} attempts)`);
  if (s.status === 'skipped' && s.skipReason) bits.push(`(${s.skipReason.replace('_', ' ')})`);
  if (s.error && s.status !== 'succeeded') bits.push(`— ${s.error.type}: ${firstLine(s.error.message)}`);
  return bits.join(' ');
}

function firstLine(s?: string): string {
  const l = (s ?? '').split('\n')[0]!;
  return l.length > 200 ? l.slice(0, 197) + '…' : l;
}

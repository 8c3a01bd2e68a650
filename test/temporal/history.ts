/**
 * Helpers over the replay fixtures in test/fixtures/histories/: the fixture pipelines, loading a
 * recorded history (the JSON `historyToJSON` / `temporal workflow show -o json` writes) and reading
 * what it scheduled. The histories are recorded from the real server by test/temporal/record-histories.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../engine/plan.ts';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';

/** Folder of the recorded histories and their pipelines.yaml. */
export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'histories');

/** A fixture pipeline (test/fixtures/histories/pipelines.yaml), compiled. */
export function fixturePlan(name: string): Plan {
  const r = validateSpecText(readFileSync(path.join(FIXTURES, 'pipelines.yaml'), 'utf8'), 'pipelines.yaml');
  if (!r.spec) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return compilePlan(r.spec, name);
}

/** A `json/plain` payload as proto3 JSON writes it. */
export interface Payload {
  metadata: Record<string, string>;
  data: string;
}

/** One event of a recorded history (proto3 JSON: camelCase attributes, `EVENT_TYPE_*` names). */
export interface HistoryEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  [attrs: string]: unknown;
}

/** A recorded history file: who recorded it, the workflow id and the events. */
export interface RecordedHistory {
  recorded: { commit: string; sdk: string; at: string; scenario: string };
  workflowId: string;
  events: HistoryEvent[];
}

/** Reads a recorded history (a fresh copy each call: tests may tamper with it). */
export function loadHistory(file: string): RecordedHistory {
  return JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as RecordedHistory;
}

/** Decodes a `json/plain` payload. */
export function decodePayload(p: Payload): unknown {
  return JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));
}

/** Activities scheduled in a history, in order: id, type, task queue and (for runStep) the step id. */
export function scheduledActivities(h: { events: HistoryEvent[] }): { activityId: string; type: string; taskQueue: string; step?: string }[] {
  return h.events
    .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
    .map((e) => {
      const a = e.activityTaskScheduledEventAttributes as { activityId: string; activityType: { name: string }; taskQueue: { name: string }; input: { payloads: Payload[] } };
      const input = decodePayload(a.input.payloads[0]!) as { step?: { id: string } };
      return { activityId: a.activityId, type: a.activityType.name, taskQueue: a.taskQueue.name, ...(a.activityType.name === 'runStep' ? { step: input.step!.id } : {}) };
    });
}

/** The event types of a history, in order. */
export function eventTypes(h: { events: HistoryEvent[] }): string[] {
  return h.events.map((e) => e.eventType);
}

/**
 * Writes Temporal workflow histories in the JSON shape `temporal workflow show -o json` produces
 * (proto3 JSON: camelCase attributes, string ids, `EVENT_TYPE_*` names, durations as "10s",
 * payloads base64 with `json/plain` encoding). No server can run here, so the replay fixtures in
 * test/fixtures/histories/ are written event by event with this builder (test/temporal/make-histories.ts)
 * and checked by Worker.runReplayHistory against the real workflow bundle.
 */

export interface Payload {
  metadata: { encoding: string };
  data: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A `json/plain` payload of a value (what the default data converter writes). */
export function payload(v: unknown): Payload {
  return { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(v)) };
}

/** Decodes a `json/plain` payload. */
export function decodePayload(p: Payload): unknown {
  return JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));
}

const secs = (ms: number) => `${ms / 1000}s`;

export interface HistoryEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  taskId?: string;
  [attrs: string]: unknown;
}

export interface ActivityOpts {
  activityId: string;
  type: string;
  taskQueue: string;
  input: unknown;
  startToCloseMs: number;
  heartbeatMs?: number;
  retry: { initialInterval: string; backoffCoefficient: number; maximumInterval?: string; maximumAttempts: number; nonRetryableErrorTypes?: string[] };
}

/** Builds one workflow execution's history; time advances explicitly (ms). */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private t: number;
  private lastWftCompleted = 0;
  private wftCount = 0;
  private readonly identity = '4242@worker-1';

  constructor(start: Date) {
    this.t = start.getTime();
  }

  /** Advances the clock. */
  wait(ms: number): this {
    this.t += ms;
    return this;
  }

  now(): number {
    return this.t;
  }

  private add(type: string, attrsKey: string, attrs: Record<string, unknown>): number {
    const id = this.events.length + 1;
    this.events.push({ eventId: String(id), eventTime: new Date(this.t).toISOString(), eventType: type, taskId: String(1048576 + id), [attrsKey]: attrs });
    return id;
  }

  started(workflowType: string, taskQueue: string, input: unknown[], memo?: Record<string, unknown>): this {
    this.add('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', 'workflowExecutionStartedEventAttributes', {
      workflowType: { name: workflowType },
      taskQueue: { name: taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      input: { payloads: input.map(payload) },
      workflowExecutionTimeout: '0s',
      workflowRunTimeout: '0s',
      workflowTaskTimeout: '10s',
      originalExecutionRunId: 'b1f6c3a2-0000-4000-8000-000000000001',
      identity: '1234@cli-host',
      firstExecutionRunId: 'b1f6c3a2-0000-4000-8000-000000000001',
      attempt: 1,
      firstWorkflowTaskBackoff: '0s',
      ...(memo ? { memo: { fields: Object.fromEntries(Object.entries(memo).map(([k, v]) => [k, payload(v)])) } } : {}),
      header: {},
      workflowId: 'replay',
    });
    return this;
  }

  /** A complete workflow task: scheduled, started (1 ms later), completed. `flags`: SDK flags used in it. */
  workflowTask(taskQueue: string, flags: number[] = []): this {
    const sched = this.add('EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', 'workflowTaskScheduledEventAttributes', { taskQueue: { name: taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' }, startToCloseTimeout: '10s', attempt: 1 });
    this.t += 1;
    const started = this.add('EVENT_TYPE_WORKFLOW_TASK_STARTED', 'workflowTaskStartedEventAttributes', { scheduledEventId: String(sched), identity: this.identity, requestId: `req-${sched}`, historySizeBytes: String(1000 + sched * 200) });
    this.t += 5;
    this.lastWftCompleted = this.add('EVENT_TYPE_WORKFLOW_TASK_COMPLETED', 'workflowTaskCompletedEventAttributes', {
      scheduledEventId: String(sched),
      startedEventId: String(started),
      identity: this.identity,
      workerVersion: {},
      // Core flags a 1.24 worker records on its first task: 1 = IdAndTypeDeterminismChecks (replay
      // compares activity ids/types and timer ids), 2 = UpsertSearchAttributeOnPatch.
      sdkMetadata: { ...(this.wftCount++ === 0 ? { coreUsedFlags: [1, 2] } : {}), langUsedFlags: flags, sdkName: 'temporal-typescript', sdkVersion: '1.24.0' },
      meteringMetadata: {},
    });
    return this;
  }

  /** ActivityTaskScheduled; returns its event id. */
  scheduleActivity(o: ActivityOpts): number {
    return this.add('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', 'activityTaskScheduledEventAttributes', {
      activityId: o.activityId,
      activityType: { name: o.type },
      taskQueue: { name: o.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      header: {},
      input: { payloads: [payload(o.input)] },
      scheduleToCloseTimeout: '0s',
      scheduleToStartTimeout: '0s',
      startToCloseTimeout: secs(o.startToCloseMs),
      heartbeatTimeout: secs(o.heartbeatMs ?? 0),
      workflowTaskCompletedEventId: String(this.lastWftCompleted),
      retryPolicy: { ...o.retry, nonRetryableErrorTypes: o.retry.nonRetryableErrorTypes ?? [] },
    });
  }

  /** ActivityTaskStarted + ActivityTaskCompleted after `ms`. */
  completeActivity(scheduledId: number, result: unknown, ms = 100, attempt = 1): this {
    const started = this.add('EVENT_TYPE_ACTIVITY_TASK_STARTED', 'activityTaskStartedEventAttributes', { scheduledEventId: String(scheduledId), identity: this.identity, requestId: `act-${scheduledId}`, attempt });
    this.t += ms;
    this.add('EVENT_TYPE_ACTIVITY_TASK_COMPLETED', 'activityTaskCompletedEventAttributes', { result: { payloads: [payload(result)] }, scheduledEventId: String(scheduledId), startedEventId: String(started), identity: this.identity });
    return this;
  }

  /** ActivityTaskStarted (last attempt) + ActivityTaskFailed with an ApplicationFailure. */
  failActivity(scheduledId: number, f: { message: string; type: string; nonRetryable?: boolean; details?: unknown; retryState: string; attempt: number }, ms = 100): this {
    const started = this.add('EVENT_TYPE_ACTIVITY_TASK_STARTED', 'activityTaskStartedEventAttributes', {
      scheduledEventId: String(scheduledId),
      identity: this.identity,
      requestId: `act-${scheduledId}`,
      attempt: f.attempt,
      ...(f.attempt > 1 ? { lastFailure: { message: f.message, source: 'TypeScriptSDK', applicationFailureInfo: { type: f.type } } } : {}),
    });
    this.t += ms;
    this.add('EVENT_TYPE_ACTIVITY_TASK_FAILED', 'activityTaskFailedEventAttributes', {
      failure: {
        message: f.message,
        source: 'TypeScriptSDK',
        stackTrace: `ApplicationFailure: ${f.message}\n    at toApplicationFailure (temporal/activities.ts)`,
        applicationFailureInfo: { type: f.type, nonRetryable: f.nonRetryable ?? false, ...(f.details !== undefined ? { details: { payloads: [payload(f.details)] } } : {}) },
      },
      scheduledEventId: String(scheduledId),
      startedEventId: String(started),
      identity: this.identity,
      retryState: f.retryState,
    });
    return this;
  }

  startTimer(timerId: string, ms: number): number {
    return this.add('EVENT_TYPE_TIMER_STARTED', 'timerStartedEventAttributes', { timerId, startToFireTimeout: secs(ms), workflowTaskCompletedEventId: String(this.lastWftCompleted) });
  }

  cancelTimer(timerId: string, startedId: number): this {
    this.add('EVENT_TYPE_TIMER_CANCELED', 'timerCanceledEventAttributes', { timerId, startedEventId: String(startedId), workflowTaskCompletedEventId: String(this.lastWftCompleted), identity: this.identity });
    return this;
  }

  signal(name: string, arg: unknown): this {
    this.add('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED', 'workflowExecutionSignaledEventAttributes', { signalName: name, input: { payloads: [payload(arg)] }, identity: '1234@cli-host', header: {} });
    return this;
  }

  /** UpdateAccepted (sequenced after the workflow task that delivered it); returns its event id. */
  updateAccepted(updateId: string, name: string, arg: unknown): number {
    const wftStarted = this.lastWftCompleted - 1;
    return this.add('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 'workflowExecutionUpdateAcceptedEventAttributes', {
      protocolInstanceId: updateId,
      acceptedRequestMessageId: `${updateId}/request`,
      acceptedRequestSequencingEventId: String(wftStarted - 1),
      acceptedRequest: { meta: { updateId, identity: '1234@cli-host' }, input: { header: {}, name, args: { payloads: [payload(arg)] } } },
    });
  }

  updateCompleted(updateId: string, acceptedId: number, result: unknown): this {
    this.add('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED', 'workflowExecutionUpdateCompletedEventAttributes', {
      meta: { updateId, identity: '1234@cli-host' },
      acceptedEventId: String(acceptedId),
      outcome: { success: { payloads: [payload(result)] } },
    });
    return this;
  }

  completed(result: unknown): this {
    this.add('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', 'workflowExecutionCompletedEventAttributes', { result: { payloads: [payload(result)] }, workflowTaskCompletedEventId: String(this.lastWftCompleted) });
    return this;
  }

  failed(message: string, type: string, details: unknown): this {
    this.add('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED', 'workflowExecutionFailedEventAttributes', {
      failure: { message, source: 'TypeScriptSDK', applicationFailureInfo: { type, nonRetryable: true, details: { payloads: [payload(details)] } } },
      retryState: 'RETRY_STATE_RETRY_POLICY_NOT_SET',
      workflowTaskCompletedEventId: String(this.lastWftCompleted),
    });
    return this;
  }

  toJSON(): { events: HistoryEvent[] } {
    return { events: this.events };
  }
}

/** Activity type names scheduled in a history, with their activity ids, in order. */
export function scheduledActivities(h: { events: HistoryEvent[] }): { activityId: string; type: string; step?: string }[] {
  return h.events
    .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
    .map((e) => {
      const a = e.activityTaskScheduledEventAttributes as { activityId: string; activityType: { name: string }; input: { payloads: Payload[] } };
      const input = decodePayload(a.input.payloads[0]!) as { step?: { id: string } };
      return { activityId: a.activityId, type: a.activityType.name, ...(a.activityType.name === 'runStep' ? { step: input.step!.id } : {}) };
    });
}

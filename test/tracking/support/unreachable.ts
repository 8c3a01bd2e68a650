import { writeFileSync } from 'node:fs';
import net, { type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';

/** A loopback port nothing listens on (bound once to get a free number, then closed): connections are refused. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A listener that accepts connections and never answers (a hung server, a black-holing proxy). Counts connections. */
export class BlackHole {
  connections = 0;
  url = '';
  private readonly sockets = new Set<Socket>();
  private readonly server = net.createServer((s) => {
    this.connections++;
    this.sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => this.sockets.delete(s));
  });

  /** Starts listening on a free loopback port; returns its http URL. */
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Drops every held connection and stops listening. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A pino logger at `debug` whose records (parsed JSON lines) land in `lines`. */
export function capturingLogger(): { log: pino.Logger; lines: Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'debug', base: undefined }, sink), lines };
}

/** Length of one sleep step of {@link writeSubsetSpec}, ms: the unit ("tick") run lengths are compared in. */
export const STEP_MS = 500;

/**
 * A pipelines.yaml in `dir` with pipeline `subset`: a diamond of sleep steps, a join, an approval
 * (auto-approved in tests) and a last sleep, so the observer sees a run start, five step ends, an
 * approval decision and the run end. Critical path: three sleeps of {@link STEP_MS} (left and right run side by side).
 */
export function writeSubsetSpec(dir: string): string {
  const file = path.join(dir, 'pipelines.yaml');
  const d = `${STEP_MS}ms`;
  writeFileSync(
    file,
    `version: 1
pipelines:
  subset:
    params: { greeting: hello }
    steps:
      first:   { uses: sleep, with: { duration: ${d} } }
      left:    { uses: sleep, needs: [first], with: { duration: ${d} } }
      right:   { uses: sleep, needs: [first], with: { duration: ${d} } }
      join:    { uses: noop, needs: [left, right] }
      approve: { uses: approval, needs: [join], with: { timeout: 1h } }
      last:    { uses: sleep, needs: [approve], with: { duration: ${d} } }
`,
  );
  return file;
}

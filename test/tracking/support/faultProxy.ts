import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A small HTTP proxy in front of a real server, for faults a real server cannot be asked to make:
 * - `drop-answer`: forward the request, let the server commit it, then reset the client's
 *   connection instead of answering (a timeout or reset after the commit: the case that makes
 *   retried POSTs create duplicates);
 * - `fail-503`: answer 503 without forwarding (the request never reached the server).
 * `host` sets the Host header the server sees (default: the target's own host, as a direct client
 * would send it), e.g. a name outside MLflow's --allowed-hosts.
 */
export interface ProxyRule {
  /** Matched against `METHOD /path` (path without query). */
  match: RegExp;
  action: 'drop-answer' | 'fail-503';
  /** How many matching requests it applies to. */
  times: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** What the proxy did: forwarded, or the rule's action. */
  outcome: 'forwarded' | ProxyRule['action'];
  status?: number;
}

export class FaultProxy {
  readonly rules: ProxyRule[] = [];
  readonly seen: ProxiedRequest[] = [];
  url = '';
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly target: URL;

  constructor(
    target: string,
    private readonly opts: { host?: string } = {},
  ) {
    this.target = new URL(target);
  }

  /** Starts listening on a free loopback port; returns the proxy's base URL. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = req.method ?? 'GET';
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const rule = this.rules.find((r) => r.times > 0 && r.match.test(`${method} ${pathname}`));
    if (rule) rule.times--;
    const entry: ProxiedRequest = { method, path: pathname, outcome: rule?.action ?? 'forwarded' };
    this.seen.push(entry);
    if (rule?.action === 'fail-503') {
      entry.status = 503;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'injected by FaultProxy' }));
      return;
    }
    const up = http.request(
      { host: this.target.hostname, port: this.target.port, method, path: req.url, headers: { ...req.headers, host: this.opts.host ?? this.target.host } },
      (answer) => {
        entry.status = answer.statusCode;
        if (rule?.action === 'drop-answer') {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    up.end(Buffer.concat(chunks));
  }
}

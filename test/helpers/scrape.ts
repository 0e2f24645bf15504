import { request } from 'node:http';
import { spawn } from 'node:child_process';

export interface Scrape {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** One HTTP request to a metrics listener: `host:port` or a Unix socket path. */
export function scrape(where: string, path = '/metrics', method = 'GET'): Promise<Scrape> {
  const target = where.startsWith('/') ? { socketPath: where } : { host: where.slice(0, where.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(where.slice(where.lastIndexOf(':') + 1)) };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path, method, timeout: 10_000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${where}`)));
    req.on('error', reject);
    req.end();
  });
}

/** A sample's value, by its exact name and label text as exposed (`{door="saslauthd",...}`, or '' for none). */
export function sample(body: string, name: string, labels = ''): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** `promtool check metrics` on an exposition: its exit code and what it said. */
export function promtool(body: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (c: Buffer) => (output += c.toString()));
    p.stderr.on('data', (c: Buffer) => (output += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
    p.stdin.end(body);
  });
}

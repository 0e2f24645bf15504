import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { TempFail } from '../auth/types.js';
import type { Logger } from '../log.js';
import { canonicalIp } from './address.js';
import { netstring, takeNetstring } from '../protocol/netstring.js';
import { claimSocketPath, listenUnix } from '../server/run-dir.js';

/** Postfix keeps socketmap connections open between lookups; an idle one is closed after this. */
const IDLE_MS = 300_000;
const MAX_CONNECTIONS = 512;

export type LiveCheck = (ip: string) => Promise<boolean> | boolean;

/**
 * Postfix's and Sendmail's socketmap: netstring `<map> <key>` in, `OK OK`
 * for an address holding a live grant (the data `OK` is the access action
 * that permits), `NOTFOUND ` otherwise, `TEMP <why>` when the store cannot
 * answer. Any map name is served. A malformed netstring closes the connection.
 */
export class SocketmapServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly path: string, private readonly isLive: LiveCheck, private readonly log: Logger) {}

  async answer(body: Buffer): Promise<string> {
    const text = body.toString('latin1');
    const sp = text.indexOf(' ');
    if (sp <= 0) return 'PERM request is not "<map> <key>"';
    const ip = canonicalIp(text.slice(sp + 1));
    if (!ip) return 'NOTFOUND ';
    try {
      return (await this.isLive(ip)) ? 'OK OK' : 'NOTFOUND ';
    } catch (err) {
      const why = err instanceof TempFail ? err.message : `internal error: ${(err as Error).message}`;
      this.log.error(`relay socketmap: ${why}`);
      return `TEMP ${why.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}`;
    }
  }

  private serve(sock: Socket): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const t = takeNetstring(buf);
          if (t.kind === 'more') return;
          if (t.kind === 'bad') {
            this.log.warn(`relay socketmap: malformed request (${t.why}); connection closed`);
            sock.destroy();
            return;
          }
          buf = t.rest;
          const reply = await this.answer(t.body);
          if (sock.destroyed) return;
          sock.write(netstring(reply));
        }
      } finally {
        busy = false;
      }
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      // A running pump picks up what arrives while it awaits an answer.
      void pump();
    });
  }

  async start(): Promise<void> {
    // Claimed like the mux socket: a stale socket goes, a live one or anything else stays and we refuse.
    await claimSocketPath(this.path);
    const server = createServer((s) => this.serve(s));
    // Postfix's smtpd runs as postfix, Sendmail as smmsp or root: the map must be reachable by them.
    await listenUnix(server, this.path, 0o666);
    this.server = server;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

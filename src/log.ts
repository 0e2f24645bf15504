import { appendFileSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import pino from 'pino';
import type { LogTarget } from './config/config.js';
import { assertPrivateDir, openAppend } from './os/safe-files.js';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  close(): void;
}

export interface LogOptions {
  readonly target: LogTarget;
  readonly format: 'text' | 'json';
  readonly verbose: boolean;
  /** The syslog ident and text prefix. */
  readonly ident: string;
}

const SYSLOG_FACILITY_AUTH = 4;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function syslogSeverity(level: number): number {
  if (level >= 50) return 3; // err
  if (level >= 40) return 4; // warning
  if (level >= 30) return 6; // info
  return 7; // debug
}

/** RFC 3164 timestamp: "Nov  2 07:05:09", local time, day padded with a space. */
function rfc3164Time(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}


interface Sink {
  write(line: string, level: number, msg: string): void;
  close(): void;
}

function syslogSink(path: string, ident: string): Sink {
  const require = createRequire(import.meta.url);
  const unix = require('unix-dgram') as {
    createSocket(type: 'unix_dgram'): {
      on(ev: 'error', cb: (err: Error) => void): void;
      send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
      close(): void;
    };
  };
  const sock = unix.createSocket('unix_dgram');
  let warned = false;
  const fallback = (err: Error, line: string) => {
    // Losing auth logs silently would hide attacks: say so once and keep them on stderr.
    if (!warned) {
      warned = true;
      process.stderr.write(`${ident}[${process.pid}]: cannot send to syslog at ${path}: ${err.message}; logging to stderr\n`);
    }
    process.stderr.write(line);
  };
  sock.on('error', (err) => {
    if (!warned) fallback(err, '');
  });
  return {
    write(_line, level, msg) {
      const text = `<${SYSLOG_FACILITY_AUTH * 8 + syslogSeverity(level)}>${rfc3164Time(new Date())} ${ident}[${process.pid}]: ${msg}`;
      const buf = Buffer.from(text, 'utf8');
      try {
        sock.send(buf, 0, buf.length, path, (err) => {
          if (err) fallback(err, `${ident}[${process.pid}]: ${msg}\n`);
        });
      } catch (err) {
        fallback(err as Error, `${ident}[${process.pid}]: ${msg}\n`);
      }
    },
    close() {
      try {
        sock.close();
      } catch {
        // already closed
      }
    },
  };
}

function makeSink(opts: LogOptions): Sink {
  const { target, format, ident } = opts;
  const text = (level: number, msg: string) => {
    const lvl = level >= 50 ? 'error' : level >= 40 ? 'warning' : level >= 30 ? 'info' : 'debug';
    return `${new Date().toISOString()} ${ident}[${process.pid}]: ${lvl}: ${msg}\n`;
  };
  if (target.kind === 'syslog') return syslogSink(target.path, ident);
  if (target.kind === 'stderr') {
    return {
      // The -d format of saslauthd, so existing log watchers keep matching.
      write: (line, _level, msg) => void process.stderr.write(format === 'json' ? line : `${ident}[${process.pid}] :${msg}\n`),
      close: () => undefined,
    };
  }
  // Opened by root, so never through a link someone planted, and only in a directory no one else writes.
  assertPrivateDir(dirname(target.path), 'log_target');
  const fd = openAppend(target.path);
  return {
    write: (line, level, msg) => void writeSync(fd, format === 'json' ? line : text(level, msg)),
    close: () => closeSync(fd),
  };
}

export function createLogger(opts: LogOptions): Logger {
  const sink = makeSink(opts);
  const stream = {
    write(line: string) {
      let level = 30;
      let msg = '';
      try {
        const o = JSON.parse(line) as { level?: number; msg?: string };
        level = o.level ?? 30;
        msg = o.msg ?? '';
      } catch {
        msg = line.trimEnd();
      }
      sink.write(line, level, msg);
    },
  };
  const p = pino({ level: opts.verbose ? 'debug' : 'info', base: { ident: opts.ident }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    close: () => sink.close(),
  };
}

/** A logger for command-line tools before any config is read. */
export function stderrLine(prefix: string, msg: string): void {
  appendFileSync(2, `${prefix}: ${msg}\n`);
}

/** A logger whose destination can be replaced on reload while every holder keeps its reference. */
export class SwitchableLogger implements Logger {
  constructor(private inner: Logger) {}
  swap(next: Logger): void {
    const old = this.inner;
    this.inner = next;
    old.close();
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.inner.debug(msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.inner.info(msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.inner.warn(msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.inner.error(msg, fields);
  }
  close(): void {
    this.inner.close();
  }
}

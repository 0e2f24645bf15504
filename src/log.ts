import { closeSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import type { LogTarget } from './config/config.js';
import { assertPrivateDir, openAppend } from './os/safe-files.js';
import { openDatagramSender } from './os/unix-dgram.js';

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

type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];
const SYSLOG_FACILITY_AUTH = 4;
const SYSLOG_SEVERITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const WORD: Record<Level, string> = { error: 'error', warn: 'warning', info: 'info', debug: 'debug' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 timestamp: "Nov  2 07:05:09", local time, day padded with a space. */
function rfc3164Time(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** Where lines go: each target renders a text line its own way, and takes a JSON line as it is. */
interface Sink {
  text(level: Level, msg: string): void;
  json(level: Level, line: string): void;
  close(): void;
}

function syslogSink(path: string, ident: string): Sink {
  let warned = false;
  const fallback = (err: Error, line: string) => {
    // Losing auth logs silently would hide attacks: say so once and keep them on stderr.
    if (!warned) {
      warned = true;
      process.stderr.write(`${ident}[${process.pid}]: cannot send to syslog at ${path}: ${err.message}; logging to stderr\n`);
    }
    process.stderr.write(line);
  };
  const sock = openDatagramSender((err) => {
    if (!warned) fallback(err, '');
  });
  const send = (level: Level, msg: string) => {
    const text = `<${SYSLOG_FACILITY_AUTH * 8 + SYSLOG_SEVERITY[level]}>${rfc3164Time(new Date())} ${ident}[${process.pid}]: ${msg}`;
    sock.send(Buffer.from(text, 'utf8'), path, (err) => err && fallback(err, `${ident}[${process.pid}]: ${msg}\n`));
  };
  return { text: send, json: (level, line) => send(level, line.trimEnd()), close: () => sock.close() };
}

function makeSink(target: LogTarget, ident: string): Sink {
  if (target.kind === 'syslog') return syslogSink(target.path, ident);
  if (target.kind === 'stderr') {
    return {
      // The -d format of saslauthd, so existing log watchers keep matching.
      text: (_level, msg) => void process.stderr.write(`${ident}[${process.pid}] :${msg}\n`),
      json: (_level, line) => void process.stderr.write(line),
      close: () => undefined,
    };
  }
  // Opened by root, so never through a link someone planted, and only in a directory no one else writes.
  assertPrivateDir(dirname(target.path), 'log_target');
  const fd = openAppend(target.path);
  return {
    text: (level, msg) => void writeSync(fd, `${new Date().toISOString()} ${ident}[${process.pid}]: ${WORD[level]}: ${msg}\n`),
    json: (_level, line) => void writeSync(fd, line),
    close: () => closeSync(fd),
  };
}

/**
 * Text lines are rendered straight from the message; JSON lines are pino's,
 * handed to the target as pino wrote them. Either way each line is made once.
 */
export function createLogger(opts: LogOptions): Logger {
  const sink = makeSink(opts.target, opts.ident);
  const lowest = opts.verbose ? 0 : 1;
  const enabled = (level: Level) => LEVELS.indexOf(level) >= lowest;
  if (opts.format === 'text') {
    const at = (level: Level) => (msg: string) => void (enabled(level) && sink.text(level, msg));
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), close: () => sink.close() };
  }
  // pino writes to its stream within the call that logs, so the level of the line being written is known here.
  let writing: Level = 'info';
  const p = pino(
    { level: opts.verbose ? 'debug' : 'info', base: { ident: opts.ident }, timestamp: pino.stdTimeFunctions.isoTime },
    { write: (line: string) => sink.json(writing, line) },
  );
  const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    writing = level;
    p[level](fields ?? {}, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), close: () => sink.close() };
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

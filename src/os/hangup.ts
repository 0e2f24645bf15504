import type { Socket } from 'node:net';
import { requireNative } from './native.js';

const POLLHUP = 0x10;

type Poll = (fds: { fd: number; events: number; revents: number }[], n: number, timeout: number) => number;
let poll: Poll | undefined;

function bind(): Poll {
  if (!poll) {
    const koffi = requireNative('koffi') as {
      load(name: string): { func(sig: string): Poll };
      struct(name: string, def: Record<string, string>): unknown;
    };
    koffi.struct('authmux_pollfd', { fd: 'int', events: 'short', revents: 'short' });
    poll = koffi.load('libc.so.6').func('int poll(_Inout_ authmux_pollfd *fds, unsigned long nfds, int timeout)');
  }
  return poll;
}

/**
 * True when the peer of a Unix stream socket has closed its end entirely,
 * not merely shut down its writing: an EOF alone cannot tell a client that
 * left from one that half-closed and still waits for its reply.
 */
export function peerHungUp(sock: Socket): boolean {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return true;
  const fds = [{ fd, events: 0, revents: 0 }];
  if (bind()(fds, 1, 0) < 0) return false;
  return (fds[0]!.revents & POLLHUP) !== 0;
}

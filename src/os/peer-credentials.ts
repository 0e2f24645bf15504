import type { Socket } from 'node:net';
import { requireNative } from './native.js';

/** The user id of the process at the other end of an accepted Unix socket, or undefined when the kernel cannot say. */
export type PeerUid = (s: Socket) => number | undefined;

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** struct ucred: pid, uid, gid, each 32 bits. */
const UCRED_BYTES = 12;

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: Uint32Array) => number;

/**
 * SO_PEERCRED through koffi (Node has no getsockopt): the kernel records the
 * client's credentials when it connects, so no client can claim to be
 * another. Throws when libc cannot be bound.
 */
export function loadPeerUid(): PeerUid {
  const koffi = requireNative('koffi') as { load(name: string): { func(sig: string): GetSockOpt } };
  const getsockopt = koffi.load('libc.so.6').func('int getsockopt(int fd, int level, int name, void *value, uint32_t *length)');
  const cred = Buffer.alloc(UCRED_BYTES);
  const length = new Uint32Array(1);
  return (s) => {
    const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    length[0] = UCRED_BYTES;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, length) !== 0 || length[0] !== UCRED_BYTES) return undefined;
    return cred.readUInt32LE(4);
  };
}

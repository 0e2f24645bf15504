import { fstatSync } from 'node:fs';

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
const FIRST_FD = 3;

/**
 * The listening sockets systemd passed this process (sd_listen_fds(3)):
 * LISTEN_FDS of them from fd 3, named by LISTEN_FDNAMES (the units'
 * FileDescriptorName=), meant for this process only when LISTEN_PID is its
 * pid. The variables are removed, so that nothing this daemon starts takes
 * the sockets for its own. An fd that is not a socket is left out.
 */
export function activatedSockets(env: NodeJS.ProcessEnv): Map<string, number> {
  const out = new Map<string, number>();
  const pid = Number(env['LISTEN_PID']);
  const count = Number(env['LISTEN_FDS']);
  const names = (env['LISTEN_FDNAMES'] ?? '').split(':');
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete env[k];
  if (pid !== process.pid || !Number.isInteger(count) || count <= 0 || count > 64) return out;
  for (let i = 0; i < count; i++) {
    const fd = FIRST_FD + i;
    try {
      if (!fstatSync(fd).isSocket()) continue;
    } catch {
      continue;
    }
    // One unnamed socket is the saslauthd socket, as a unit with a single ListenStream= gives it.
    const name = names[i] || (count === 1 ? 'mux' : `fd${fd}`);
    out.set(name, fd);
  }
  return out;
}

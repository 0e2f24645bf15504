import type { AuthRequest, PasswordRecord } from '../auth/types.js';
import type { DoorAccount } from '../protocol/checkpassword-door.js';

/** What the next program needs of a checked account, the same whether checked here or by the daemon. */
export function accountOf(record: PasswordRecord, req: AuthRequest): DoorAccount {
  return {
    user: record.user,
    domain: record.domain ?? req.realm,
    uid: record.uid,
    gid: record.gid,
    home: record.home ?? '',
    shell: record.shell ?? '',
    flags: record.flags,
  };
}

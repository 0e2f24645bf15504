import { Authenticator } from '../../auth/authenticator.js';
import type { AuthRequest } from '../../auth/types.js';
import { createBackend } from '../../backends/index.js';
import type { Config } from '../../config/config.js';
import { createVerifier } from '../../crypt/verifier.js';
import type { Logger } from '../../log.js';
import type { DoorReply } from '../../protocol/checkpassword-door.js';
import { replyOf } from '../checkpassword-socket.js';

/** Without a daemon: the backend and the verifier in this process, no cache (it would die with the process). */
export async function checkDirect(config: Config, req: AuthRequest, log: Logger): Promise<DoorReply> {
  const verifier = createVerifier({ engine: config.cryptEngine, concurrency: 1 });
  const backend = await createBackend(config, log);
  try {
    const auth = new Authenticator({ backend, verifier, combineRealm: false });
    return replyOf(await auth.authenticate({ ...req, realmInLogin: true }, { needRecord: true }));
  } finally {
    await backend.close?.();
    await verifier.close();
  }
}

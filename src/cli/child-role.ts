import { CHILD_ROLE_VAR, PAM_WORKER_ROLE } from '../backends/pam/pool.js';

/**
 * Every entry point (bin/authmux, the checkpassword program, the single
 * executable) may be started again by the daemon as one of its own worker
 * processes, named by an environment variable. Returns true when this
 * process is such a worker and has been handed to it.
 */
export async function becomeChildRole(env: NodeJS.ProcessEnv): Promise<boolean> {
  const role = env[CHILD_ROLE_VAR];
  if (role === undefined) return false;
  // Programs a PAM module runs (pam_exec) must not inherit the role.
  delete env[CHILD_ROLE_VAR];
  if (role !== PAM_WORKER_ROLE) throw new Error(`unknown ${CHILD_ROLE_VAR} ${JSON.stringify(role)}`);
  (await import('../backends/pam/worker.js')).runPamWorker();
  return true;
}

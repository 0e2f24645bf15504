/**
 * The size of libuv's thread pool, where the hashes run. libuv fixes it at
 * the pool's first use, and loading ES modules is such a use: bin/authmux
 * sets UV_THREADPOOL_SIZE from -n before it loads anything, and the first
 * process hands each serving process its share the same way. The single
 * executable loads its one bundle synchronously, so setting the variable
 * here is still in time for it. A size already in the environment stands
 * (an admin's, or one of those): it is the pool this process has.
 */
export function hashPoolThreads(wanted: number, env: NodeJS.ProcessEnv = process.env): number {
  const given = Number(env['UV_THREADPOOL_SIZE']);
  if (Number.isInteger(given) && given > 0) return Math.min(given, 1024);
  const size = Math.min(Math.max(1, wanted), 1024);
  env['UV_THREADPOOL_SIZE'] = String(size);
  return size;
}

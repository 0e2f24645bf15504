/**
 * The size of libuv's thread pool, where the hashes run. libuv fixes it at
 * the pool's first use, and loading ES modules is such a use: bin/authmux
 * sets UV_THREADPOOL_SIZE from -n before it loads anything, and the first
 * process hands each serving process its share the same way. The single
 * executable loads its one bundle synchronously, so setting the variable
 * here is still in time for it. A size already in the environment is the
 * pool this process has, read as libuv reads it.
 */
export function hashPoolThreads(wanted: number, env: NodeJS.ProcessEnv = process.env): number {
  const given = env['UV_THREADPOOL_SIZE'];
  if (given !== undefined) return libuvPoolSize(given);
  const size = Math.min(Math.max(1, wanted), MAX_POOL);
  env['UV_THREADPOOL_SIZE'] = String(size);
  return size;
}

const MAX_POOL = 1024;

/** libuv's reading: atoi() into an unsigned int, 0 taken as 1, capped at 1024 (so "-1" is 1024 and "abc" is 1). */
export function libuvPoolSize(text: string): number {
  const n = Number.parseInt(text.trimStart(), 10);
  if (!Number.isFinite(n) || n === 0) return 1;
  if (n < 0 || n > MAX_POOL) return MAX_POOL;
  return n;
}

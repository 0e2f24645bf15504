import { setFlagsFromString } from 'node:v8';

/**
 * After each full collection V8 lets the old generation grow up to four times
 * what survived before it collects again. The daemon keeps about 11 MB alive
 * while every request promotes a little short-lived garbage, so each process
 * sat at up to ~45 MB of heap between collections; growing at most twofold
 * held it 5-8 MB lower at the same request rate (bench/resident.mjs). V8 reads
 * the flag at each collection, so setting it here works for node and the
 * single executable alike, which takes no V8 flags on its command line.
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=100');
}

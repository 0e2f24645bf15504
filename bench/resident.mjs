// Resident memory of a group of processes, three ways: the sum of their RSS
// (a page two processes share, such as node's own code, counted in each), the
// sum of their PSS (a shared page split between all its sharers, including
// processes outside the group), and the union (each physical page any of them
// holds counted once, node's code included, which stays in the page cache
// after they stop). The union reads page frame numbers from
// /proc/PID/pagemap: root only.
//
//   node bench/resident.mjs PID [PID...]
//   -> rss_kb=... pss_kb=... union_kb=...
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';

const PAGE = 4096;
const PRESENT = 1n << 63n;
const PFN_MASK = (1n << 55n) - 1n;

function statusKb(pid, field) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}

function pssKb(pid) {
  const line = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n').find((l) => l.startsWith('Pss:'));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}

/** Adds the frame number of every present page of `pid` to `frames`. */
function collectFrames(pid, frames) {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of maps) {
      const [range, perms] = line.split(/\s+/);
      // An inaccessible mapping (V8's reserved address space, guard pages) holds no pages.
      if (perms.startsWith('---') || line.endsWith('[vsyscall]')) continue;
      const [start, end] = range.split('-').map((h) => BigInt(`0x${h}`));
      const pages = Number((end - start) / BigInt(PAGE));
      const buf = Buffer.alloc(pages * 8);
      const got = readSync(fd, buf, 0, buf.length, Number((start / BigInt(PAGE)) * 8n));
      if (got !== buf.length) throw new Error(`pid ${pid}: pagemap gave ${got} of ${buf.length} bytes for ${range}`);
      for (let at = 0; at < got; at += 8) {
        const entry = buf.readBigUInt64LE(at);
        if ((entry & PRESENT) === 0n) continue;
        const pfn = entry & PFN_MASK;
        if (pfn === 0n) throw new Error('pagemap hides frame numbers: run as root');
        frames.add(pfn);
      }
    }
  } finally {
    closeSync(fd);
  }
}

const pids = process.argv.slice(2).map(Number);
if (pids.length === 0 || pids.some((p) => !Number.isInteger(p) || p <= 0)) {
  process.stderr.write('usage: node bench/resident.mjs PID [PID...]\n');
  process.exit(2);
}
const frames = new Set();
let rss = 0;
let pss = 0;
for (const pid of pids) {
  rss += statusKb(pid, 'VmRSS');
  pss += pssKb(pid);
  collectFrames(pid, frames);
}
process.stdout.write(`rss_kb=${rss} pss_kb=${pss} union_kb=${(frames.size * PAGE) / 1024}\n`);

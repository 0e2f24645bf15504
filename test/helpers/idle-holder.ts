import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const NOBODY = 65534;

/**
 * Run as another user: keeps `count` connections open to each socket and
 * sends nothing; whatever the server closes is opened again about a second
 * later, so the slots stay claimed for as long as it runs. Prints what it
 * holds as a JSON line every 200 ms.
 */
const SCRIPT = `
import { connect } from 'node:net';
const targets = JSON.parse(process.argv[2]);
const state = Object.fromEntries(targets.map((t) => [t.name, { held: 0, closed: 0, attempts: 0 }]));
let stopping = false;
function open(t) {
  const st = state[t.name];
  st.attempts++;
  const s = connect(t.path);
  let up = false;
  s.on('connect', () => { up = true; st.held++; });
  s.on('error', () => {});
  s.on('close', () => {
    if (up) st.held--;
    st.closed++;
    if (!stopping) setTimeout(() => open(t), 500 + Math.random() * 1000);
  });
}
for (const t of targets) for (let i = 0; i < t.count; i++) open(t);
setInterval(() => process.stdout.write(JSON.stringify(state) + '\\n'), 200);
process.stdin.on('data', () => {});
process.stdin.on('end', () => { stopping = true; process.exit(0); });
`;

export interface HolderState {
  readonly held: number;
  readonly closed: number;
  readonly attempts: number;
}

export class IdleHolder {
  private last: Record<string, HolderState> = {};

  private constructor(private readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      if (lines.length > 0) this.last = JSON.parse(lines[lines.length - 1]!) as Record<string, HolderState>;
    });
  }

  /** `dir` must be readable by `uid`: the script is written there. */
  static start(dir: string, uid: number, targets: ReadonlyArray<{ name: string; path: string; count: number }>, gid = uid): IdleHolder {
    const script = join(dir, 'idle-holder.mjs');
    writeFileSync(script, SCRIPT, { mode: 0o644 });
    const proc = spawn(process.execPath, [script, JSON.stringify(targets)], { uid, gid, cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
    return new IdleHolder(proc);
  }

  state(name: string): HolderState {
    return this.last[name] ?? { held: 0, closed: 0, attempts: 0 };
  }

  /** Waits until every connection was tried at least once and what is held has stopped changing. */
  async settled(names: readonly string[], counts: readonly number[]): Promise<void> {
    let prev = '';
    for (let i = 0; i < 200; i++) {
      await sleep(250);
      const now = JSON.stringify(names.map((n) => this.state(n).held));
      if (names.every((n, k) => this.state(n).attempts >= counts[k]!) && now === prev) return;
      prev = now;
    }
    throw new Error(`the holder never settled: ${JSON.stringify(this.last)}`);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.stdin!.end();
    });
  }
}

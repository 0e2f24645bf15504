import { openDatagramSender, type DatagramSender } from './unix-dgram.js';

/**
 * systemd's notify protocol (sd_notify(3)): state lines sent as one
 * datagram to the socket NOTIFY_SOCKET names, so a Type=notify unit knows
 * when the sockets answer, when a reload runs, and that the daemon is alive.
 * Without NOTIFY_SOCKET (no systemd, or another init) every call is nothing.
 */
export class SystemdNotifier {
  private readonly path: string | undefined;
  private sender: DatagramSender | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly onError: (err: Error) => void,
  ) {
    const target = env['NOTIFY_SOCKET'];
    // "@name" is the abstract namespace: a leading NUL byte in the address.
    this.path = target ? (target.startsWith('@') ? `\0${target.slice(1)}` : target) : undefined;
    const usec = Number(env['WATCHDOG_USEC']);
    const forPid = env['WATCHDOG_PID'];
    this.watchdogMs = Number.isFinite(usec) && usec > 0 && (forPid === undefined || Number(forPid) === process.pid) ? usec / 1000 : undefined;
    // The unit's own variables are not for the programs this one starts (PAM workers, relay commands).
    for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[k];
  }

  /** Half the interval systemd waits before it calls the daemon hung, when it asked for pings. */
  readonly watchdogMs: number | undefined;

  get enabled(): boolean {
    return this.path !== undefined;
  }

  send(...states: string[]): void {
    if (!this.path) return;
    this.sender ??= openDatagramSender(this.onError);
    this.sender.send(Buffer.from(states.join('\n')), this.path, (err) => err && this.onError(err));
  }

  /** READY=1 now, then WATCHDOG=1 (and the status) every half watchdog interval. */
  ready(status: () => string): void {
    this.send('READY=1', `STATUS=${status()}`, `MAINPID=${process.pid}`);
    if (this.watchdogMs === undefined) return;
    this.watchdog = setInterval(() => this.send('WATCHDOG=1', `STATUS=${status()}`), this.watchdogMs / 2);
    this.watchdog.unref();
  }

  reloading(): void {
    // systemd 253 asks for the time of the reload, in microseconds of CLOCK_MONOTONIC.
    this.send('RELOADING=1', `MONOTONIC_USEC=${(process.hrtime.bigint() / 1000n).toString()}`);
  }

  stopping(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.send('STOPPING=1');
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.sender?.close();
  }
}

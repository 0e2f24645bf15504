import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsListen } from '../config/metrics-listen.js';
import type { Logger } from '../log.js';
import type { RelayChange, RelayPublisher } from '../relay/tracker.js';
import type { PeerMetrics } from './peer-metrics.js';
import { collectProcessMetrics } from './process-metrics.js';
import { claimSocketPath, listenUnix, removeQuietly } from './run-dir.js';

export type Door = 'saslauthd' | 'checkpassword' | 'dovecot';
export type Outcome = 'ok' | 'fail' | 'tempfail';

const DOORS: readonly Door[] = ['saslauthd', 'checkpassword', 'dovecot'];
const OUTCOMES: readonly Outcome[] = ['ok', 'fail', 'tempfail'];

/** From a cached success (well under a millisecond) to a PAM stack or directory near its timeout. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Inc = { inc(n?: number): void };
type Observe = { observe(v: number): void };

interface DoorSeries {
  readonly duration: Observe;
  /** By mechanism, then outcome: bound once per mechanism seen, so a request looks up, never builds, its series. */
  readonly byMech: Map<string, Record<Outcome, Inc>>;
}

export interface MetricsSources {
  /** Entries in the credential cache now (0 when it is off); read at each scrape. */
  cacheEntries(): number;
}

/**
 * The daemon's counters in one prom-client registry, and the HTTP listener
 * that serves them. Every label set a request can reach is bound ahead or on
 * its first use, so recording is a map lookup and an add.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'door' | 'mech' | 'result'>;
  private readonly backendErrors: Counter<'mech'>;
  private readonly doors: Record<Door, DoorSeries>;
  private readonly backendErrorsByMech = new Map<string, Inc>();
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly penaltyDelayed: Counter;
  private readonly relayGrants: Counter;
  private readonly relayExpiries: Counter;
  private http: Server | undefined;
  private unixPath: string | undefined;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'authmux_auth_requests_total', help: 'Logins decided, by front door, mechanism and result', labelNames: ['door', 'mech', 'result'], registers });
    const duration = new Histogram({
      name: 'authmux_auth_duration_seconds',
      help: 'Time a login took to decide (cache, source, hash check), penalty waits excluded',
      labelNames: ['door'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.cacheHits = new Counter({ name: 'authmux_cache_hits_total', help: 'Logins answered from the credential cache', registers });
    this.cacheMisses = new Counter({ name: 'authmux_cache_misses_total', help: 'Logins the credential cache could not answer', registers });
    new Gauge({
      name: 'authmux_cache_entries',
      help: 'Entries in the credential cache',
      registers,
      collect() {
        this.set(sources.cacheEntries());
      },
    });
    this.backendErrors = new Counter({ name: 'authmux_backend_errors_total', help: 'Logins a mechanism could not decide (temporary failures)', labelNames: ['mech'], registers });
    this.penaltyDelayed = new Counter({ name: 'authmux_penalty_delayed_total', help: 'Requests held back by their address\'s failure penalty', registers });
    this.relayGrants = new Counter({ name: 'authmux_relay_grants_total', help: 'Relay grants written by this daemon', registers });
    this.relayExpiries = new Counter({ name: 'authmux_relay_expiries_total', help: 'Relay grants this daemon removed as expired', registers });
    collectProcessMetrics(this.registry, 'authmux_');
    // Gauges named like counters, which promtool's lint rejects; the per-type gauges beside them hold the same counts.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) this.registry.removeSingleMetric(`authmux_nodejs_${name}`);
    const doors = {} as Record<Door, DoorSeries>;
    for (const door of DOORS) {
      doors[door] = { duration: duration.labels({ door }), byMech: new Map() };
      // Zero series from the start: a rate() over a door that has served nothing yet reads 0, not absent.
      duration.zero({ door });
    }
    this.doors = doors;
  }

  /**
   * One decided login. `seconds` is undefined when no check ran (the client
   * left while penalised): such a tempfail is no backend's error. `cache`:
   * whether the cache answered; undefined when it is off or was not asked.
   */
  request(door: Door, mech: string, outcome: Outcome, seconds: number | undefined, cache: boolean | undefined): void {
    const series = this.doors[door];
    let byOutcome = series.byMech.get(mech);
    if (byOutcome === undefined) {
      byOutcome = {} as Record<Outcome, Inc>;
      for (const result of OUTCOMES) {
        byOutcome[result] = this.requests.labels({ door, mech, result });
        // All three at once: the first failure of a mechanism shows as an increase from 0, not a new series.
        this.requests.inc({ door, mech, result }, 0);
      }
      series.byMech.set(mech, byOutcome);
    }
    byOutcome[outcome].inc();
    if (seconds !== undefined) series.duration.observe(seconds);
    if (cache === true) this.cacheHits.inc();
    else if (cache === false) this.cacheMisses.inc();
    if (outcome === 'tempfail' && seconds !== undefined) {
      let errors = this.backendErrorsByMech.get(mech);
      if (errors === undefined) {
        errors = this.backendErrors.labels({ mech });
        this.backendErrorsByMech.set(mech, errors);
      }
      errors.inc();
    }
  }

  penalised(): void {
    this.penaltyDelayed.inc();
  }

  /** Counts grants and expiries as the relay tracker publishes them. */
  relayPublisher(): RelayPublisher {
    return {
      name: 'metrics',
      changed: (change: RelayChange) => {
        if (change.kind === 'grant') this.relayGrants.inc();
        else if (change.kind === 'revoke' && change.why === 'expired') this.relayExpiries.inc(change.ips.length);
      },
      close: () => Promise.resolve(),
    };
  }

  /** The other serving processes' registries (serve_processes), asked at each scrape. */
  private peers: (() => Promise<PeerMetrics[]>) | undefined;

  addPeers(peers: () => Promise<PeerMetrics[]>): void {
    this.peers = peers;
  }

  /**
   * Prometheus text 0.0.4, which every scraper and promtool read. With
   * other serving processes, one sum over all: prom-client's aggregator
   * adds counters and histograms, and takes each process metric the way
   * its collector declares (sums for memory and CPU, one for the version).
   */
  async exposition(): Promise<{ contentType: string; body: string }> {
    if (!this.peers) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    const all = [await this.registry.getMetricsAsJSON(), ...(await this.peers())];
    // Each process has the same descriptor limit: the limit is one process's, not their sum.
    for (const m of all.flat()) if (m.name.endsWith('process_max_fds')) (m as { aggregator: string }).aggregator = 'max';
    return { contentType: this.registry.contentType, body: await AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics() };
  }

  /**
   * Serves GET /metrics on `where`. A Unix socket is made 0600 (or taken
   * from systemd, named `metrics`); a TCP address is whatever the admin
   * gave, with a warning when it is not loopback.
   */
  async listen(where: MetricsListen, log: Logger, pidFile?: string): Promise<void> {
    // Timeouts checked every half second (Node's default is 30 s), so a client
    // dribbling its headers is gone within the 2 s a scraper never needs.
    const http = createServer({ connectionsCheckingInterval: 500, headersTimeout: 2000, requestTimeout: 5000 }, (req, res) => void this.serve(req, res, log));
    // A scraper holds its connection between scrapes; nothing else has reason to linger.
    http.keepAliveTimeout = 65_000;
    // Any local user reaches a TCP listener, and could hold every connection
    // (after a request each, or dribbling headers) to lock the scraper out. So a
    // newcomer past the cap closes the connection that has waited longest
    // without a request under way; only when all are busy is it turned away.
    const waiting = new Set<Socket>();
    let open = 0;
    http.on('connection', (socket: Socket) => {
      open++;
      waiting.add(socket);
      socket.once('close', () => {
        open--;
        waiting.delete(socket);
      });
      if (open <= MAX_CONNECTIONS) return;
      const oldest = waiting.values().next().value as Socket | undefined;
      (oldest !== undefined && oldest !== socket ? oldest : socket).destroy();
    });
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      waiting.delete(req.socket);
      // Back among the waiting, as the newest, once answered (kept alive for the next scrape).
      res.once('finish', () => {
        if (!req.socket.destroyed) waiting.add(req.socket);
      });
    });
    if (where.kind === 'unix') {
      await claimSocketPath(where.path, pidFile);
      await listenUnix(http, where.path, 0o600);
      this.unixPath = where.path;
    } else {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen({ host: where.host, port: where.port }, () => {
          http.off('error', reject);
          resolve();
        });
      });
      if (!isLoopback(where.host)) log.warn(`metrics on ${where.host}:${where.port}, beyond loopback: anyone who reaches it sees login counts and failures`);
    }
    this.http = http;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; GET /metrics\n');
      return;
    }
    try {
      const { contentType, body } = await this.exposition();
      res.writeHead(200, { 'content-type': contentType }).end(body);
    } catch (err) {
      log.error(`metrics: ${(err as Error).message}`);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
    }
  }

  /** Where it listens, for the start-up line and tests: `host:port` or the socket path. */
  get address(): string | undefined {
    if (!this.http) return undefined;
    if (this.unixPath) return this.unixPath;
    const a = this.http.address();
    return a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : undefined;
  }

  async close(): Promise<void> {
    const http = this.http;
    this.http = undefined;
    if (http) {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    }
    if (this.unixPath) removeQuietly(this.unixPath);
    this.registry.clear();
  }
}

/** Connections the endpoint serves at once; beyond, idle ones make room or the newcomer is turned away. */
const MAX_CONNECTIONS = 64;

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const v = isIP(host);
  if (v === 4) return host.startsWith('127.');
  if (v === 6) return host === '::1' || host.toLowerCase().startsWith('::ffff:127.');
  return false;
}

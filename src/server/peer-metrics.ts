import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** One process's registry as prom-client's getMetricsAsJSON() gives it. */
export type PeerMetrics = Array<MetricObjectWithValues<MetricValue<string>>>;

const valueKey = (v: MetricValue<string>) => `${(v as { metricName?: string }).metricName ?? ''}|${JSON.stringify(Object.entries(v.labels).sort())}`;

/** `into` plus `more`, value by value (same metric, same series); neither is changed. */
function addCounts(into: PeerMetrics, more: PeerMetrics): PeerMetrics {
  const byName = new Map(into.map((m) => [m.name, structuredClone(m)]));
  for (const m of more) {
    const have = byName.get(m.name);
    if (!have) {
      byName.set(m.name, structuredClone(m));
      continue;
    }
    const series = new Map(have.values.map((v) => [valueKey(v), v]));
    for (const v of m.values) {
      const h = series.get(valueKey(v));
      if (h) h.value += v.value;
      else have.values.push(structuredClone(v));
    }
  }
  return [...byName.values()];
}

/**
 * Keeps the first process's sum over serving processes from going down,
 * which a scraper would read as a counter reset: a process that does not
 * answer in time counts with its last answer, and one that died leaves its
 * last counters and histograms behind (its gauges go with it).
 */
export class PeerMetricsMemory {
  private readonly last = new Map<number, PeerMetrics>();
  private retired: PeerMetrics = [];

  /** What to sum for these processes: each one's answer, or its last one, and what the dead left. */
  sum(answers: ReadonlyArray<{ readonly index: number; readonly value: PeerMetrics | undefined }>): PeerMetrics[] {
    const out: PeerMetrics[] = [];
    for (const a of answers) {
      if (a.value) this.last.set(a.index, a.value);
      const m = this.last.get(a.index);
      if (m) out.push(m);
    }
    if (this.retired.length > 0) out.push(this.retired);
    return out;
  }

  died(index: number): void {
    const m = this.last.get(index);
    this.last.delete(index);
    if (m) this.retired = addCounts(this.retired, m.filter((x) => ['counter', 'histogram'].includes(String(x.type))));
  }
}

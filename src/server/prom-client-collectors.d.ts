// prom-client's default collectors, one module each, without types of their own.
declare module 'prom-client/lib/metrics/*' {
  import type { Registry } from 'prom-client';
  const collect: (registry: Registry, config: { prefix: string; eventLoopMonitoringPrecision: number }) => void;
  export default collect;
}

/**
 * Where relay grants live. A grant is an address and the time (epoch
 * seconds) of the login that opened it; it is live while younger than
 * relay_ttl. Every method may reject with TempFail when the store cannot
 * be reached; a resolved put() is durable (an acknowledged grant).
 */
export interface RelayStore {
  readonly name: string;
  put(ip: string, at: number): Promise<void>;
  remove(ips: readonly string[]): Promise<string[]>;
  /** The grant time for `ip`, or undefined. */
  get(ip: string): Promise<number | undefined>;
  entries(): Promise<Array<[string, number]>>;
  /** Removes grants made before `cutoff`; returns the addresses removed. */
  expireBefore(cutoff: number): Promise<string[]>;
  close(): Promise<void>;
}

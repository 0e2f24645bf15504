import type { ServiceFlags } from '../../config/vpopmail.js';

/** True when the account's flags refuse this service. */
export function serviceRefused(flags: number, service: string, map: ServiceFlags): boolean {
  const bit = map.get(service.toLowerCase());
  return bit !== undefined && (flags & bit) !== 0;
}

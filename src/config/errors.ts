/** A configuration or usage problem the admin must fix; the message says what and where. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

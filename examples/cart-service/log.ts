/**
 * The service's log: one JSON object per line on stderr (`{"time","level","msg",...}`), so
 * that it can be read by people and by tools (`jq`, log shippers) alike. Its `warn` has the
 * shape `TcpTransport` takes as its `logger`.
 * @module
 */

/** Severity of a log line. */
export type Level = 'info' | 'warn' | 'error';

/** Writes one log line. */
export function log(level: Level, msg: string, fields: object = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }, replacer)}\n`);
}

/** The logger given to `TcpTransport`: refused peers and dropped connections. */
export const transportLogger = {
  warn(fields: object, msg: string): void {
    log('warn', msg, fields);
  },
};

/** Byte keys (event payloads) print as text; errors print their message and code. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}

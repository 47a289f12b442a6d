/**
 * Logging: any object with pino's level methods will do (`pino()`, `console`, a child
 * logger). libdynamo calls them as pino does, `logger.warn(fields, message)`, and is silent
 * unless given one. What it logs: start and stop (info), members up, joined and left
 * (info), members believed down, dropped hints, sibling counts past `siblingsWarn` and
 * failed background work (warn), hints stored and delivered, repairs, ring changes and
 * anti-entropy rounds (debug).
 * @module
 */

/** A pino-compatible logger; `debug` is optional. */
export interface Logger {
  /** Routine detail: hints stored and delivered, repairs, ring changes, anti-entropy rounds. Optional. */
  debug?(fields: object, message: string): void;
  /** Lifecycle: this member starting and stopping, members up, joined and left. */
  info(fields: object, message: string): void;
  /** Trouble worth a look: members believed down, dropped hints, many siblings, failed background work. */
  warn(fields: object, message: string): void;
  /** Errors. Required, as pino and `console` have it, though libdynamo reports its own failures at `warn`. */
  error(fields: object, message: string): void;
}

/** The default: says nothing. */
export const silentLogger: Logger = Object.freeze({
  info() {},
  warn() {},
  error() {},
});

/** Whether `x` has the methods of a {@link Logger}. */
export function isLogger(x: unknown): x is Logger {
  if (typeof x !== 'object' || x === null) return false;
  const l = x as Record<string, unknown>;
  return typeof l['info'] === 'function' && typeof l['warn'] === 'function' && typeof l['error'] === 'function' && (l['debug'] === undefined || typeof l['debug'] === 'function');
}

/** Keys as they appear in logs: UTF-8 text when they are, else hex. */
export function printableKey(key: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(key);
  } catch {
    return `0x${Buffer.from(key).toString('hex')}`;
  }
}

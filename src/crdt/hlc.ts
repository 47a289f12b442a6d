/**
 * Hybrid logical clock timestamps for LWWRegister.
 *
 * Source: Kulkarni, Demirbas, Madappa, Avva, Leone, "Logical Physical Clocks and Consistent
 * Snapshots in Globally Distributed Databases", OPODIS 2014. A timestamp is the physical time
 * in milliseconds, a logical counter that orders events within one millisecond (or while the
 * local clock lags one already seen), and the actor, which breaks the remaining ties so every
 * replica orders any two timestamps the same way.
 *
 * Pure: the caller passes the time (`Date.now()` or an injected clock); nothing here reads one.
 * @module
 */
import { ValidationError } from '../errors.js';
import { actorProblem } from './dots.js';

/** A hybrid logical clock timestamp. Ordered by `ms`, then `logical`, then `actor`. */
export interface HlcTimestamp {
  /** Physical time, milliseconds since the epoch (or any origin all replicas share). */
  readonly ms: number;
  /** Events in the same millisecond, or after a later timestamp was seen, count up here. */
  readonly logical: number;
  /** The replica that issued the timestamp: the final tie-break. */
  readonly actor: string;
}

/** Negative, zero or positive as `x` is before, the same as, or after `y`. */
export function compareTimestamps(x: HlcTimestamp, y: HlcTimestamp): number {
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  if (x.logical !== y.logical) return x.logical < y.logical ? -1 : 1;
  return x.actor === y.actor ? 0 : x.actor < y.actor ? -1 : 1;
}

/**
 * The timestamp `actor` gives an event at physical time `nowMs`, having seen `last`: after
 * `last` whatever the clock says, so a write always wins over what its writer had seen.
 */
export function nextTimestamp(last: HlcTimestamp | undefined, nowMs: number, actor: string): HlcTimestamp {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new ValidationError(`nowMs must be a safe integer >= 0, got ${String(nowMs)}`);
  if (last === undefined || nowMs > last.ms) return { ms: nowMs, logical: 0, actor };
  const logical = last.logical + 1;
  if (!Number.isSafeInteger(logical)) throw new ValidationError('the logical counter of the timestamp is exhausted');
  return { ms: last.ms, logical, actor };
}

/** Why `ts` is not a timestamp, or `undefined` when it is. */
export function timestampProblem(ts: unknown): string | undefined {
  if (typeof ts !== 'object' || ts === null) return 'a timestamp must be an object { ms, logical, actor }';
  const { ms, logical, actor } = ts as { ms?: unknown; logical?: unknown; actor?: unknown };
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) return 'timestamp ms must be a safe integer >= 0';
  if (typeof logical !== 'number' || !Number.isSafeInteger(logical) || logical < 0) return 'timestamp logical must be a safe integer >= 0';
  return actorProblem(actor);
}

/** A plain copy of `ts`, or a `ValidationError` unless it is a timestamp. */
export function checkTimestamp(ts: unknown): HlcTimestamp {
  const problem = timestampProblem(ts);
  if (problem !== undefined) throw new ValidationError(problem);
  const { ms, logical, actor } = ts as HlcTimestamp;
  return { ms, logical, actor };
}

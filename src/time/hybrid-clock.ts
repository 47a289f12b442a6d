/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", OPODIS 2014),
 * packed into one safe integer: `wall ms × 1000 + logical`. Timestamps issued by one member
 * strictly increase and stay within a few milliseconds of its wall clock; after observing a
 * timestamp from another member, every later one is greater than it. Used to order
 * concurrent siblings for last-write-wins, where ties between members are broken by actor.
 *
 * The logical part counts events within one wall millisecond; past 999 of them the
 * timestamp runs ahead of the wall clock by a millisecond, as HLC allows.
 * @module
 */
import { ValidationError } from '../errors.js';
import { wallTime, type Clock } from './clock.js';

/** Logical events per wall millisecond before the timestamp runs ahead. */
export const LOGICAL_PER_MS = 1000;

/** How far ahead of the local wall clock an observed timestamp may be and still be adopted. */
export const MAX_DRIFT_MS = 60_000;

/** Largest timestamp accepted from outside: year 2255 or so, far inside 2^53. */
export const MAX_TIMESTAMP = 9e15;

/** Issues hybrid logical timestamps from a clock's wall time. */
export class HybridClock {
  readonly #clock: Clock;
  #last = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** A timestamp greater than every one issued or observed before. */
  now(): number {
    const physical = Math.floor(wallTime(this.#clock)) * LOGICAL_PER_MS;
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return this.#last;
  }

  /**
   * Takes in a timestamp seen on a record from elsewhere. One more than
   * {@link MAX_DRIFT_MS} ahead of this member's wall clock is not adopted: a member whose
   * clock is wrong by days must not drag every other member's timestamps along for good.
   */
  observe(timestamp: number): void {
    checkTimestamp(timestamp);
    if (timestamp <= this.#last) return;
    // Compared by millisecond: the logical counter within the last allowed one is allowed.
    if (timestamp >= (Math.floor(wallTime(this.#clock)) + MAX_DRIFT_MS + 1) * LOGICAL_PER_MS) return;
    this.#last = timestamp;
  }
}

/** Throws `ValidationError` unless `timestamp` is a hybrid timestamp (a safe integer ≥ 0). */
export function checkTimestamp(timestamp: unknown): asserts timestamp is number {
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP) {
    throw new ValidationError(`a hybrid timestamp must be an integer in [0, ${MAX_TIMESTAMP}], got ${String(timestamp)}`);
  }
}

/** The wall-clock milliseconds a timestamp stands for. */
export function timestampMs(timestamp: number): number {
  return Math.floor(timestamp / LOGICAL_PER_MS);
}

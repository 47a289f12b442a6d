/**
 * LWW-Register: a single value, the one written last by hybrid-logical-clock time.
 *
 * Source: Shapiro, Preguiça, Baquero, Zawirski, "A comprehensive study of Convergent and
 * Commutative Replicated Data Types", INRIA RR-7506, 2011, §3.2.1 (Specification 8); the
 * timestamps are hybrid logical clocks (./hlc.ts). riak_dt's `riak_dt_lwwreg` keeps the
 * value with the larger timestamp and, on equal timestamps, the larger value; so does this.
 *
 * Lossy by design: of two concurrent writes one is silently dropped, and a replica whose
 * clock runs ahead wins over later writes elsewhere. Use an ORSet (or Dynamo's siblings) when
 * every write matters; use this for values where the latest is all that counts.
 * @module
 */
import { ValidationError } from '../errors.js';
import { checkActor } from './dots.js';
import { checkTimestamp, compareTimestamps, nextTimestamp, type HlcTimestamp } from './hlc.js';
import { decodeValue, encodeValue, keyOf } from './plain-value.js';
import type { PlainValue } from './types.js';

/** @internal A written value: its timestamp and canonical encoding. */
export interface Written {
  readonly ts: HlcTimestamp;
  /** Canonical CBOR of the value. */
  readonly bytes: Uint8Array;
  /** {@link keyOf} `bytes`: compares as the bytes do. */
  readonly key: string;
}

/** Which of two writes a register keeps: the later timestamp, then the larger encoding. */
export function compareWritten(x: Written, y: Written): number {
  return compareTimestamps(x.ts, y.ts) || (x.key === y.key ? 0 : x.key < y.key ? -1 : 1);
}

/**
 * A register holding the value written last (by hybrid logical clock). Immutable: every
 * operation returns a new register. Values are plain data (see {@link PlainValue}); `value()`
 * returns a fresh copy each call.
 *
 * Lossy: of two concurrent assignments, the one with the later timestamp wins and the other
 * is gone.
 *
 * @example
 * ```ts
 * const r1 = LWWRegister.empty<string>().assign('a', 'draft', Date.now());
 * const r2 = r1.assign('b', 'final', Date.now());   // later than r1, whatever b's clock says
 * LWWRegister.merge(r1, r2).value(); // 'final'
 * ```
 */
export class LWWRegister<T = PlainValue> {
  /** Type tag of this CRDT in encodings and ORMap fields. */
  static readonly tag = 'lwwregister' as const;

  /** @internal The current write, `undefined` while nothing was written. */
  readonly written: Written | undefined;

  private constructor(written: Written | undefined) {
    this.written = written;
  }

  private static readonly EMPTY = new LWWRegister<unknown>(undefined);

  /** The register nothing was written to: its value is `undefined`. */
  static empty<T = PlainValue>(): LWWRegister<T> {
    return LWWRegister.EMPTY as LWWRegister<T>;
  }

  /** @internal A register from a checked write (the codec and ORMap check it). */
  static fromState<T>(written: Written | undefined): LWWRegister<T> {
    return written === undefined ? (LWWRegister.EMPTY as LWWRegister<T>) : new LWWRegister<T>(written);
  }

  /** The current value (a fresh copy), or `undefined` if nothing was written. */
  value(): T | undefined {
    return this.written === undefined ? undefined : (decodeValue(this.written.bytes) as T);
  }

  /** The current value's timestamp, or `undefined` if nothing was written. */
  get timestamp(): HlcTimestamp | undefined {
    const ts = this.written?.ts;
    return ts === undefined ? undefined : { ms: ts.ms, logical: ts.logical, actor: ts.actor };
  }

  /**
   * The register holding `value`, written by `actor` at physical time `nowMs` (say
   * `Date.now()`). Its timestamp is later than the current one even if `nowMs` is not, so
   * an assignment always replaces what its writer has seen.
   */
  assign(actor: string, value: T, nowMs: number): LWWRegister<T> {
    const ts = nextTimestamp(this.written?.ts, nowMs, checkActor(actor));
    const bytes = encodeValue(value, 'a register value');
    return new LWWRegister<T>({ ts, bytes, key: keyOf(bytes) });
  }

  /**
   * The register after a write of `value` with an explicit `timestamp`: the current value
   * stays if its timestamp is later (riak_dt's `assign` with a timestamp).
   */
  assignAt(value: T, timestamp: HlcTimestamp): LWWRegister<T> {
    const ts = checkTimestamp(timestamp);
    const bytes = encodeValue(value, 'a register value');
    return this.merge(new LWWRegister<T>({ ts, bytes, key: keyOf(bytes) }));
  }

  /** The register holding whichever of the two values was written last. */
  merge(other: LWWRegister<T>): LWWRegister<T> {
    if (other.written === undefined) return this;
    if (this.written === undefined) return other;
    return compareWritten(this.written, other.written) >= 0 ? this : other;
  }

  /** `a.merge(b)`. */
  static merge<T>(a: LWWRegister<T>, b: LWWRegister<T>): LWWRegister<T> {
    return a.merge(b);
  }

  /** Whether this register's write is at or after `other`'s (`this ⊔ other = this`). */
  descends(other: LWWRegister<T>): boolean {
    if (other.written === undefined) return true;
    return this.written !== undefined && compareWritten(this.written, other.written) >= 0;
  }

  /** Whether both registers hold the same write. */
  equals(other: LWWRegister<T>): boolean {
    const x = this.written;
    const y = other.written;
    return x === undefined || y === undefined ? x === y : compareWritten(x, y) === 0;
  }
}

/** A write from untrusted parts; `ValidationError` unless each part is valid. */
export function checkWritten(ts: HlcTimestamp, bytes: Uint8Array): Written {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('a register value must be a byte string');
  return { ts: checkTimestamp(ts), bytes, key: keyOf(bytes) };
}

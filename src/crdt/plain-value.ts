/**
 * Canonical CBOR (RFC 8949) of the plain values held by ORSet elements and LWWRegister
 * values. Two values are the same element exactly when their canonical encodings are equal,
 * and the encoding orders elements (bytewise), so every replica keeps and encodes a set in
 * the same order.
 *
 * The rules are cbor-x's, as ../codec/cbor-write.ts writes them (numbers that are 32-bit
 * integers as CBOR integers, every other number as a float64; bigints as 64-bit integers or
 * bignums; byte strings untagged), plus RFC 8949 §4.2.1's deterministic map-key order
 * (shorter key first, then bytewise). ../codec/cbor-write.ts cannot be used as is: it writes
 * keys in property order, and JavaScript enumerates integer-like keys first, so no object can
 * be built to make it write them sorted. ../codec/cbor-read.ts reads the encodings back; a
 * decoded value re-encodes to the same bytes, which is how foreign bytes are checked.
 *
 * The encoding is injective on accepted values: strings with lone surrogates (which UTF-8
 * cannot carry) and `"__proto__"` keys (which the reader renames) are refused.
 * @module
 */
import { Buffer } from 'node:buffer';
import { ValidationError } from '../errors.js';
import { toLatin1 } from '../latin1.js';
import { abandonDecoding, beginDecoding, finishDecoding, readPlain } from '../codec/cbor-read.js';

/** Deepest nesting of containers in a value: a container at this depth is refused. */
export const MAX_VALUE_DEPTH = 32;

/** In a `u` regex a surrogate range matches only unpaired halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Whether `text` is well-formed Unicode, i.e. survives UTF-8 unchanged. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** Writes one value; a fresh writer per value, so a getter that encodes too cannot interfere. */
class Writer {
  private out = new Uint8Array(64);
  private view = new DataView(this.out.buffer);
  length = 0;

  bytes(): Uint8Array {
    return this.out.slice(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.out.length) return;
    const next = new Uint8Array(Math.max(this.out.length * 2, this.length + bytes));
    next.set(this.out.subarray(0, this.length));
    this.out = next;
    this.view = new DataView(next.buffer);
  }

  private byte(b: number): void {
    this.reserve(1);
    this.out[this.length++] = b;
  }

  private head(major: number, n: number): void {
    this.reserve(5);
    const m = major << 5;
    if (n < 24) this.out[this.length++] = m | n;
    else if (n < 0x100) {
      this.out[this.length++] = m | 24;
      this.out[this.length++] = n;
    } else if (n < 0x10000) {
      this.out[this.length++] = m | 25;
      this.view.setUint16(this.length, n);
      this.length += 2;
    } else {
      this.out[this.length++] = m | 26;
      this.view.setUint32(this.length, n);
      this.length += 4;
    }
  }

  private raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.out.set(bytes, this.length);
    this.length += bytes.length;
  }

  private number(value: number): void {
    if (value >>> 0 === value) this.head(0, value); // -0 included: it is written as 0
    else if (value < 0 && value >= -0x100000000 && Number.isInteger(value)) this.head(1, -1 - value);
    else {
      this.byte(0xfb);
      this.reserve(8);
      this.view.setFloat64(this.length, value);
      this.length += 8;
    }
  }

  private bigint(value: bigint): void {
    if ((value >= 0n && value < 1n << 64n) || (value < 0n && value > -(1n << 64n))) {
      this.byte(value >= 0n ? 0x1b : 0x3b);
      this.reserve(8);
      this.view.setBigUint64(this.length, value >= 0n ? value : -1n - value);
      this.length += 8;
      return;
    }
    // A bignum (RFC 8949 §3.4.3): tag 2, or tag 3 over -1 - n, big-endian without leading zeros.
    const negative = value < 0n;
    let hex = (negative ? -1n - value : value).toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    this.byte(negative ? 0xc3 : 0xc2);
    const bytes = Buffer.from(hex, 'hex');
    this.head(2, bytes.length);
    this.raw(bytes);
  }

  private string(bytes: Uint8Array): void {
    this.head(3, bytes.length);
    this.raw(bytes);
  }

  write(value: unknown, depth: number, what: string): void {
    switch (typeof value) {
      case 'string':
        this.string(utf8(value, what));
        return;
      case 'number':
        this.number(value);
        return;
      case 'bigint':
        this.bigint(value);
        return;
      case 'boolean':
        this.byte(value ? 0xf5 : 0xf4);
        return;
      case 'object':
        break;
      default:
        throw new ValidationError(`${what} must be plain data, not ${typeof value}`);
    }
    if (value === null) {
      this.byte(0xf6);
      return;
    }
    if (value instanceof Uint8Array) {
      this.head(2, value.length);
      this.raw(value);
      return;
    }
    if (depth >= MAX_VALUE_DEPTH) throw new ValidationError(`${what} nests deeper than ${MAX_VALUE_DEPTH} levels`);
    const proto: unknown = Object.getPrototypeOf(value);
    if (Array.isArray(value)) {
      if (proto !== Array.prototype) throw new ValidationError(`${what} must hold plain arrays`);
      const items = value as unknown[];
      this.head(4, items.length);
      for (let i = 0; i < items.length; i++) this.write(items[i], depth + 1, what);
      return;
    }
    if (proto !== Object.prototype && proto !== null) {
      throw new ValidationError(`${what} must be plain data: objects must be plain objects`);
    }
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).map((key) => {
      if (key === '__proto__') throw new ValidationError(`${what} must not have a "__proto__" key`);
      return { key, bytes: utf8(key, what) };
    });
    keys.sort((x, y) => compareKeys(x.bytes, y.bytes));
    this.head(5, keys.length);
    for (const { key, bytes } of keys) {
      this.string(bytes);
      this.write(object[key], depth + 1, what);
    }
  }
}

function utf8(value: string, what: string): Uint8Array {
  if (!isWellFormed(value)) throw new ValidationError(`${what} has a string with a lone surrogate`);
  return Buffer.from(value, 'utf8');
}

/** Shorter first, then bytewise: the order of their encodings (RFC 8949 §4.2.1). */
function compareKeys(x: Uint8Array, y: Uint8Array): number {
  return x.length - y.length || Buffer.compare(x, y);
}

/**
 * The canonical CBOR of `value`, a fresh array; `ValidationError` (naming `what`) unless
 * `value` is plain data as {@link PlainValue} describes.
 */
export function encodeValue(value: unknown, what = 'value'): Uint8Array {
  const writer = new Writer();
  writer.write(value, 0, what);
  return writer.bytes();
}

/** A value back from its canonical encoding: a fresh copy every call. */
export function decodeValue(bytes: Uint8Array): unknown {
  beginDecoding(bytes, true);
  try {
    const value = readPlain(0, MAX_VALUE_DEPTH);
    finishDecoding();
    return value;
  } catch (error) {
    abandonDecoding();
    throw error;
  }
}

/**
 * Throws `ValidationError` unless `bytes` is the canonical encoding of a plain value: what a
 * value from another member must pass before it is stored.
 */
export function checkEncodedValue(bytes: Uint8Array, what = 'value'): void {
  let value: unknown;
  try {
    value = decodeValue(bytes);
  } catch (error) {
    throw new ValidationError(`${what} is not valid CBOR`, { cause: error });
  }
  if (Buffer.compare(encodeValue(value, what), bytes) !== 0) {
    throw new ValidationError(`${what} is not in canonical encoding`);
  }
}

/**
 * A string that orders and compares as `bytes` do (one char per byte), to key sorted stores:
 * `<` on two keys is bytewise order of the encodings.
 */
export function keyOf(bytes: Uint8Array): string {
  return toLatin1(bytes);
}

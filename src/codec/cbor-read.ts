/**
 * A small CBOR (RFC 8949) reader for plain data, the counterpart of ./cbor-write.ts: it
 * builds only `null`, `undefined`, booleans, numbers, bigints, strings, byte strings, arrays
 * and plain objects, so what it returns needs no second pass to prove it is plain data.
 *
 * It accepts any well-formed CBOR within that data model — definite or indefinite arrays
 * and maps, any integer or float width, tag 64 (a byte string by another name), bignums —
 * and refuses everything else with a `ValidationError`: other tags (dates, sets, shared
 * references…), simple values other than the four above, non-string map keys, malformed
 * UTF-8, truncation, nesting past the caller's limit, lengths larger than the input. Its
 * input comes from the network and from disk; nothing else is ever thrown.
 * @module
 */
import { Buffer } from 'node:buffer';
import { ValidationError } from '../errors.js';
import { copyBytes } from '../bytes.js';

let src: Uint8Array = new Uint8Array(0);
let at = 0;
let end = 0;
/** Whether byte strings are handed out as views into `src` rather than copies. */
let views = false;

/**
 * Reads from `bytes` from now on; a `Buffer` is read through a plain view of its bytes. Byte
 * strings come out as copies (which may share a slab, ../bytes.ts), or, with `copyBytes` false,
 * as plain `Uint8Array` views into `bytes`.
 */
export function beginDecoding(bytes: Uint8Array, copyBytes = true): void {
  src = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  at = 0;
  end = src.length;
  views = !copyBytes;
}

/** Throws unless every byte has been read; drops the reference to the input. */
export function finishDecoding(): void {
  const trailing = end - at;
  src = EMPTY;
  if (trailing !== 0) throw malformed(`${trailing} bytes after the end of the item`);
}

/** Drops the reference to the input after a failed decoding. */
export function abandonDecoding(): void {
  src = EMPTY;
}

const EMPTY: Uint8Array = new Uint8Array(0);

function malformed(why: string): ValidationError {
  return new ValidationError(`malformed CBOR: ${why}`);
}

function truncated(): ValidationError {
  return malformed('truncated');
}

/** Argument of a head whose additional information is `info`; -1 for indefinite length. */
function readArgument(info: number): number {
  if (info < 24) return info;
  switch (info) {
    case 24:
      if (at + 1 > end) throw truncated();
      return src[at++]!;
    case 25:
      if (at + 2 > end) throw truncated();
      at += 2;
      return (src[at - 2]! << 8) | src[at - 1]!;
    case 26:
      if (at + 4 > end) throw truncated();
      at += 4;
      return ((src[at - 4]! << 24) | (src[at - 3]! << 16) | (src[at - 2]! << 8) | src[at - 1]!) >>> 0;
    case 27: {
      if (at + 8 > end) throw truncated();
      // Only lengths come through here: no input holds 2^32 items.
      const high = (src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!;
      at += 4;
      const low = readArgument(26);
      if (high !== 0) throw malformed('a length or tag number of 2^32 or more');
      return low;
    }
    case 31:
      return -1;
    default:
      throw malformed(`reserved additional information ${info}`);
  }
}

/** The next byte without consuming it; throws at the end of input. */
function peek(): number {
  if (at >= end) throw truncated();
  return src[at]!;
}

/** In an indefinite-length container: whether the next byte ends it (consumed if so). */
export function atBreak(): boolean {
  if (peek() !== 0xff) return false;
  at++;
  return true;
}

/**
 * The next item as plain data. Containers are allowed only while `depth < maxDepth` (a
 * container at `depth` holds items at `depth + 1`). Byte strings are fresh `Uint8Array`s,
 * each with an `ArrayBuffer` of exactly its own bytes. A `"__proto__"` map key is read as
 * `"__proto_"`, as cbor-x does, so it can set no prototype.
 */
export function readPlain(depth: number, maxDepth: number): unknown {
  if (at >= end) throw truncated();
  const initial = src[at++]!;
  const major = initial >> 5;
  const info = initial & 31;
  switch (major) {
    case 0:
      if (info === 27) return readUint64();
      if (info === 31) throw malformed('an integer cannot have indefinite length');
      return readArgument(info);
    case 1:
      if (info === 27) return -1n - readUint64();
      if (info === 31) throw malformed('an integer cannot have indefinite length');
      return -1 - readArgument(info);
    case 2:
      return readByteString(info);
    case 3: {
      const length = readArgument(info);
      if (length < 0) throw malformed('indefinite-length text strings are not supported');
      if (length > end - at) throw truncated();
      at += length;
      return decodeUtf8(src, at - length, at);
    }
    case 4: {
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      const length = readArgument(info);
      if (length >= 0) {
        if (length > end - at) throw truncated();
        const array: unknown[] = new Array(length);
        for (let i = 0; i < length; i++) array[i] = readPlain(depth + 1, maxDepth);
        return array;
      }
      const array: unknown[] = [];
      while (!atBreak()) array.push(readPlain(depth + 1, maxDepth));
      return array;
    }
    case 5: {
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      const size = readArgument(info);
      const object: Record<string, unknown> = {};
      if (size >= 0) {
        if (size > (end - at) / 2) throw truncated();
        for (let i = 0; i < size; i++) readEntry(object, depth, maxDepth);
      } else {
        while (!atBreak()) readEntry(object, depth, maxDepth);
      }
      return object;
    }
    case 6:
      return readTagged(readArgument(info));
    default:
      return readSimple(info);
  }
}

function tooDeep(maxDepth: number): ValidationError {
  return malformed(`nests deeper than ${maxDepth} levels`);
}

function readEntry(object: Record<string, unknown>, depth: number, maxDepth: number): void {
  const initial = peek();
  if (initial >> 5 !== 3) throw malformed('a map key must be a text string');
  let key = readPlain(depth + 1, maxDepth) as string;
  if (key === '__proto__') key = '__proto_';
  object[key] = readPlain(depth + 1, maxDepth);
}

function readByteString(info: number): Uint8Array {
  const length = readArgument(info);
  if (length < 0) throw malformed('indefinite-length byte strings are not supported');
  if (length > end - at) throw truncated();
  at += length;
  if (views) return src.subarray(at - length, at);
  // A copy into a shared slab (../bytes.ts): a fresh ArrayBuffer above 64 bytes is a native
  // allocation of about 2.5 µs on Node 20.
  return copyBytes(src.subarray(at - length, at));
}

function readUint64(): bigint {
  if (at + 8 > end) throw truncated();
  const high = ((src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!) >>> 0;
  const low = ((src[at + 4]! << 24) | (src[at + 5]! << 16) | (src[at + 6]! << 8) | src[at + 7]!) >>> 0;
  at += 8;
  return (BigInt(high) << 32n) | BigInt(low);
}

function readTagged(tag: number): unknown {
  if (tag < 0) throw malformed('a tag cannot have indefinite length');
  const initial = peek();
  switch (tag) {
    case 2:
    case 3: {
      if (initial >> 5 !== 2) throw malformed(`tag ${tag} must hold a byte string`);
      at++;
      const bytes = readByteString(initial & 31);
      const magnitude = bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
      return tag === 2 ? magnitude : -1n - magnitude;
    }
    case 64:
      if (initial >> 5 !== 2) throw malformed('tag 64 must hold a byte string');
      at++;
      return readByteString(initial & 31);
    case 28:
    case 29:
      // Shared references let a few bytes stand for a value used many times over: a cycle,
      // or a tree holding more values than its frame has bytes.
      throw malformed(`shared references (tag ${tag}) are refused: plain data holds no more values than its bytes`);
    default:
      throw malformed(`tag ${tag} is not plain data`);
  }
}

function readSimple(info: number): unknown {
  switch (info) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      return undefined;
    case 25:
      if (at + 2 > end) throw truncated();
      at += 2;
      return float16((src[at - 2]! << 8) | src[at - 1]!);
    case 26: {
      if (at + 4 > end) throw truncated();
      at += 4;
      return new DataView(src.buffer, src.byteOffset + at - 4, 4).getFloat32(0);
    }
    case 27: {
      if (at + 8 > end) throw truncated();
      at += 8;
      return new DataView(src.buffer, src.byteOffset + at - 8, 8).getFloat64(0);
    }
    case 31:
      throw malformed('a break outside an indefinite-length item');
    default:
      throw malformed(`simple value ${info < 24 ? info : 'with extra byte'} is not plain data`);
  }
}

function float16(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Longest string {@link cachedAscii} remembers. */
const MAX_CACHED = 24;
/** Recently decoded short ASCII strings, by a hash of their bytes. */
const asciiCache: (string | undefined)[] = new Array<string | undefined>(512).fill(undefined);

/**
 * A short ASCII string, from the cache when the same bytes were decoded lately. Map keys and
 * message types repeat in every frame; handing out the same string each time spares building
 * it and lets V8 find the property it names at once.
 */
function cachedAscii(bytes: Uint8Array, from: number, to: number): string {
  const length = to - from;
  let hash = length;
  for (let i = from; i < to; i++) hash = (Math.imul(hash, 31) + bytes[i]!) | 0;
  const slot = (hash ^ (hash >>> 9)) & 511;
  const known = asciiCache[slot];
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (known.charCodeAt(i) !== bytes[from + i]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  let text = '';
  for (let i = from; i < to; i++) text += String.fromCharCode(bytes[i]!);
  asciiCache[slot] = text;
  return text;
}

/**
 * `bytes[from, to)` as UTF-8, also accepting the 3-byte form of lone surrogates that the
 * writer produces for short strings. Anything else that is not UTF-8 is refused.
 */
function decodeUtf8(bytes: Uint8Array, from: number, to: number): string {
  let ascii = true;
  for (let i = from; i < to; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    return to - from <= MAX_CACHED ? cachedAscii(bytes, from, to) : Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
  }
  const units = new Uint16Array(to - from);
  let n = 0;
  let i = from;
  while (i < to) {
    const b = bytes[i]!;
    if (b < 0x80) {
      units[n++] = b;
      i++;
      continue;
    }
    let code: number;
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      code = b & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      code = b & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      code = b & 0x07;
      need = 3;
      min = 0x10000;
    } else {
      throw malformed('a text string is not UTF-8');
    }
    if (i + need >= to) throw malformed('a text string is not UTF-8');
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) throw malformed('a text string is not UTF-8');
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff) throw malformed('a text string is not UTF-8');
    i += need + 1;
    if (code >= 0x10000) {
      code -= 0x10000;
      units[n++] = 0xd800 | (code >> 10);
      units[n++] = 0xdc00 | (code & 0x3ff);
    } else {
      units[n++] = code;
    }
  }
  let out = '';
  for (let k = 0; k < n; k += 4096) out += String.fromCharCode.apply(null, units.subarray(k, Math.min(n, k + 4096)) as unknown as number[]);
  return out;
}

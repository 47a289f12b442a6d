/**
 * A small CBOR (RFC 8949) writer for the plain data libdynamo puts on the wire and on disk:
 * `null`, `undefined`, booleans, numbers, bigints, strings, byte strings, arrays and objects
 * with string keys. Its reader is ./cbor-read.ts.
 *
 * Why not cbor-x, which the library still uses for user values: frames, version records and
 * contexts are a closed set of plain shapes that every get and put encodes and decodes
 * several times, and for them a general codec costs more than it needs to. cbor-x's results
 * had to be walked a second time to prove they were plain data, and its decoder handed out
 * byte strings that then had to be copied again; this pair validates as it goes and copies
 * each byte string once. The measurements behind the change are in docs/design.md.
 *
 * The output is what cbor-x writes for the same values (plain CBOR with `useRecords: false`,
 * untagged byte strings, minimal-length heads), byte for byte, so data and contexts written
 * by earlier releases still read back and re-encode the same; the tests cross-check both
 * ways. In particular numbers follow cbor-x: integers that fit 32 bits as CBOR integers,
 * every other number as a float64, bigints as 64-bit integers or bignums (tags 2 and 3).
 * @module
 */
import { Buffer } from 'node:buffer';

// Everything is written into one shared slab at `pos`; an encoding is returned as a view of
// the bytes from `start`. Slabs are never written twice, so earlier results stay valid; a
// full slab is replaced (its part of the encoding in progress copied over), not reused.

/**
 * Size of a fresh slab. An encoding kept alive keeps its slab alive, but none of libdynamo's
 * is kept: frames are sent and dropped, records are copied into storage, contexts become
 * strings. 64 KiB took the least CPU per request on the cluster benchmark (8 KiB spent it on
 * allocating and zeroing slabs; 256 KiB measured no better). An encoding that outgrows its
 * slab moves to one of twice its size.
 */
const SLAB_BYTES = 64 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let slabView = new DataView(slab.buffer);
let slabBuffer = Buffer.from(slab.buffer);
let start = 0;
let pos = 0;

/** Makes room for `bytes` more bytes of the encoding in progress. */
function reserve(bytes: number): void {
  if (pos + bytes <= slab.length) return;
  const used = pos - start;
  const next = new Uint8Array(Math.max(SLAB_BYTES, 2 * (used + bytes)));
  next.set(slab.subarray(start, pos));
  slab = next;
  slabView = new DataView(next.buffer);
  slabBuffer = Buffer.from(next.buffer);
  start = 0;
  pos = used;
}

/** Begins an encoding. Every `begin` must be followed by `finish` or `abandon`; they do not nest. */
export function beginEncoding(): void {
  // Left-over space too small to be worth starting in: start a fresh slab at once.
  if (slab.length - pos < 256) {
    slab = new Uint8Array(SLAB_BYTES);
    slabView = new DataView(slab.buffer);
    slabBuffer = Buffer.from(slab.buffer);
    pos = 0;
  }
  start = pos;
}

/**
 * The bytes written since `beginEncoding`: a view that shares its `ArrayBuffer` with other
 * encodings. Copy it before changing it; keeping it keeps its slab (64 KiB) alive.
 */
export function finishEncoding(): Buffer {
  // A Buffer, as cbor-x returned: callers and tests may rely on its methods.
  const out = Buffer.from(slab.buffer, start, pos - start);
  start = pos;
  return out;
}

/** Drops the encoding in progress. */
export function abandonEncoding(): void {
  pos = start;
}

/** A head: major type `major` (0..7, unshifted) with argument `n` (0 <= n < 2^32). */
function writeHead(major: number, n: number): void {
  reserve(5);
  const m = major << 5;
  if (n < 24) {
    slab[pos++] = m | n;
  } else if (n < 0x100) {
    slab[pos++] = m | 24;
    slab[pos++] = n;
  } else if (n < 0x10000) {
    slab[pos++] = m | 25;
    slab[pos++] = n >>> 8;
    slab[pos++] = n & 0xff;
  } else {
    slab[pos++] = m | 26;
    slab[pos++] = n >>> 24;
    slab[pos++] = (n >>> 16) & 0xff;
    slab[pos++] = (n >>> 8) & 0xff;
    slab[pos++] = n & 0xff;
  }
}

export function writeArrayHead(length: number): void {
  writeHead(4, length);
}

export function writeNull(): void {
  reserve(1);
  slab[pos++] = 0xf6;
}

/** A number as cbor-x writes it: an integer when it fits 32 bits, else a float64. */
export function writeNumber(value: number): void {
  if (value >>> 0 === value) {
    writeHead(0, value);
  } else if (value < 0 && value >= -0x100000000 && Math.floor(value) === value) {
    writeHead(1, -1 - value);
  } else {
    reserve(9);
    slab[pos++] = 0xfb;
    slabView.setFloat64(pos, value);
    pos += 8;
  }
}

function writeBigInt(value: bigint): void {
  if (value >= 0n && value < 1n << 64n) {
    reserve(9);
    slab[pos++] = 0x1b;
    slabView.setBigUint64(pos, value);
    pos += 8;
  } else if (value < 0n && value > -(1n << 64n)) {
    reserve(9);
    slab[pos++] = 0x3b;
    slabView.setBigUint64(pos, -value - 1n);
    pos += 8;
  } else {
    // A bignum (RFC 8949 §3.4.3): tag 2, or tag 3 holding -1 - n, over big-endian bytes.
    const negative = value < 0n;
    let hex = (negative ? -1n - value : value).toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    reserve(1);
    slab[pos++] = negative ? 0xc3 : 0xc2;
    writeBytes(Buffer.from(hex, 'hex'));
  }
}

/** A byte string; a `Buffer` or any other `Uint8Array` is written as its bytes. */
export function writeBytes(bytes: Uint8Array): void {
  const length = bytes.length;
  writeHead(2, length);
  reserve(length);
  // A native copy costs a call into C++; a key's few bytes are quicker copied here.
  if (length < 32) for (let i = 0; i < length; i++) slab[pos + i] = bytes[i]!;
  else slab.set(bytes, pos);
  pos += length;
}

/**
 * A text string, encoded as cbor-x encodes it: strings of fewer than 64 UTF-16 units by hand,
 * lone surrogates as their 3-byte sequences (so they come back unchanged); longer ones by
 * Node's UTF-8 encoder, which writes a lone surrogate as U+FFFD.
 */
export function writeString(value: string): void {
  const units = value.length;
  if (units >= 64) {
    const length = Buffer.byteLength(value, 'utf8');
    writeHead(3, length);
    reserve(length);
    pos += slabBuffer.write(value, pos, length, 'utf8');
    return;
  }
  // Count first so the head can be written before the bytes.
  let length = units;
  for (let i = 0; i < units; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) {
      length = utf8Length(value);
      break;
    }
  }
  writeHead(3, length);
  reserve(length);
  if (length === units) {
    for (let i = 0; i < units; i++) slab[pos++] = value.charCodeAt(i);
    return;
  }
  for (let i = 0; i < units; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      slab[pos++] = c;
    } else if (c < 0x800) {
      slab[pos++] = 0xc0 | (c >> 6);
      slab[pos++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xfc00) === 0xd800 && i + 1 < units && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (value.charCodeAt(++i) & 0x3ff);
      slab[pos++] = 0xf0 | (c >> 18);
      slab[pos++] = 0x80 | ((c >> 12) & 0x3f);
      slab[pos++] = 0x80 | ((c >> 6) & 0x3f);
      slab[pos++] = 0x80 | (c & 0x3f);
    } else {
      slab[pos++] = 0xe0 | (c >> 12);
      slab[pos++] = 0x80 | ((c >> 6) & 0x3f);
      slab[pos++] = 0x80 | (c & 0x3f);
    }
  }
}

/** UTF-8 length of a short string as {@link writeString} encodes it. */
function utf8Length(value: string): number {
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/**
 * Writes `value` if it is plain data (see the module comment) nesting no deeper than
 * `maxDepth` containers below `depth`; returns false, having written part of it, otherwise.
 * Arrays must be plain `Array`s, objects must have `Object.prototype` or `null` as prototype
 * and no own `"__proto__"` key, byte strings any `Uint8Array` (a `Buffer` included).
 */
export function writePlain(value: unknown, depth: number, maxDepth: number): boolean {
  switch (typeof value) {
    case 'string':
      writeString(value);
      return true;
    case 'number':
      writeNumber(value);
      return true;
    case 'boolean':
      reserve(1);
      slab[pos++] = value ? 0xf5 : 0xf4;
      return true;
    case 'undefined':
      reserve(1);
      slab[pos++] = 0xf7;
      return true;
    case 'bigint':
      writeBigInt(value);
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) {
    writeNull();
    return true;
  }
  if (value instanceof Uint8Array) {
    writeBytes(value);
    return true;
  }
  if (depth >= maxDepth) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return false;
    const array = value as unknown[];
    const length = array.length;
    writeHead(4, length);
    for (let i = 0; i < length; i++) if (!writePlain(array[i], depth + 1, maxDepth)) return false;
    return true;
  }
  if (proto !== Object.prototype && proto !== null) return false;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  writeHead(5, keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === '__proto__') return false;
    writeString(key);
    if (!writePlain(object[key], depth + 1, maxDepth)) return false;
  }
  return true;
}

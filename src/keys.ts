/**
 * Keys and values at the public boundary: normalised to bytes and size-checked before
 * anything is written.
 * @module
 */
import { Buffer } from 'node:buffer';
import { Encoder } from 'cbor-x';
import { ValidationError } from './errors.js';
import { toLatin1 } from './latin1.js';
import { allocBytes } from './bytes.js';
import { encodeCrdt } from './crdt/encode.js';
import { decodeCrdt } from './crdt/decode.js';
import { LWWRegister } from './crdt/lww-register.js';
import { ORMap } from './crdt/or-map.js';
import { ORSet } from './crdt/or-set.js';
import { PNCounter } from './crdt/pn-counter.js';
import type { Crdt } from './crdt/types.js';

/** A key as users pass it: a string (its UTF-8 bytes are the key) or raw bytes. */
export type Key = string | Uint8Array;

const utf8 = new TextEncoder();

/** The bytes of `key`; a string and its UTF-8 encoding name the same key. */
export function keyBytes(key: unknown, maxKeyBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof key === 'string') bytes = utf8Bytes(key);
  else if (key instanceof Uint8Array) bytes = key;
  else throw new ValidationError(`key must be a string or Uint8Array, got ${key === null ? 'null' : typeof key}`);
  if (bytes.length === 0) throw new ValidationError('key must not be empty');
  if (bytes.length > maxKeyBytes) {
    throw new ValidationError(`key is ${bytes.length} bytes, over maxKeyBytes (${maxKeyBytes})`);
  }
  return bytes;
}

/**
 * The UTF-8 bytes of `text`, in a slab (./bytes.ts): `TextEncoder#encode` gives each result
 * an `ArrayBuffer` of its own, a native allocation that made it ~1.3 µs a key against
 * ~0.17 µs this way. (A loop over `charCodeAt` is no faster: a key built by concatenation is
 * not flat, and each call on it goes to the runtime.)
 */
function utf8Bytes(text: string): Uint8Array {
  // At most three bytes per UTF-16 unit (a surrogate pair: four bytes for two units).
  const room = allocBytes(3 * text.length);
  return room.subarray(0, utf8.encodeInto(text, room).written);
}

/** A key as a Map key: latin1 keeps one char per byte, cheap and unambiguous. */
export function keyId(bytes: Uint8Array): string {
  return toLatin1(bytes);
}

// Values are user data: plain CBOR (no record extension) so any CBOR reader can decode a
// stored value, and so both sides never have to agree on shared structures.
const valueCodec = new Encoder({ useRecords: false, mapsAsObjects: true });

/** Encodes a user value, refusing what CBOR cannot carry and what is over `maxValueBytes`. */
export function encodeValue(value: unknown, maxValueBytes: number): Uint8Array {
  if (value === undefined) throw new ValidationError('value must not be undefined (use delete to remove a key)');
  // Cheap early refusal for the common large cases, before paying for an encode.
  if ((value instanceof Uint8Array || typeof value === 'string') && value.length > maxValueBytes) {
    throw new ValidationError(`value is over maxValueBytes (${maxValueBytes})`);
  }
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new ValidationError(`value of type ${typeof value} cannot be stored`);
  }
  let bytes: Uint8Array;
  if (isCrdt(value)) {
    bytes = withCrdtTag(encodeCrdt(value));
  } else {
    try {
      bytes = valueCodec.encode(value);
    } catch (cause) {
      throw new ValidationError('value cannot be encoded as CBOR', { cause });
    }
    // The value codec reads a map key "__proto__" back as "__proto_" (cbor-x guarding
    // against prototype pollution): such a value would not come back as it was written.
    // Looked for in the encoding first (one native search), walked only when it is there.
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes(PROTO_KEY) && hasProtoKey(value, 0)) {
      throw new ValidationError('value has an object key "__proto__", which does not survive storage: rename the key');
    }
  }
  if (bytes.length > maxValueBytes) {
    throw new ValidationError(`value is ${bytes.length} bytes encoded, over maxValueBytes (${maxValueBytes})`);
  }
  return bytes;
}

/** The CBOR text string "__proto__" (major type 3, length 9), as a map key is written. */
const PROTO_KEY = Buffer.from([0x69, ...Buffer.from('__proto__', 'latin1')]);

/** Whether `value` holds, at any depth, an object or `Map` with an own key "__proto__". */
function hasProtoKey(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null || depth > 256) return false;
  if (value instanceof Map) {
    for (const [key, inner] of value) if (key === '__proto__' || hasProtoKey(inner, depth + 1)) return true;
    return false;
  }
  if (Array.isArray(value)) return value.some((inner) => hasProtoKey(inner, depth + 1));
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) return true;
  return Object.values(value).some((inner) => hasProtoKey(inner, depth + 1));
}

/** Decodes a value from {@link encodeValue}: a CRDT comes back as its class, anything else as cbor-x decodes it. */
export function decodeValue<T>(bytes: Uint8Array): T {
  if (hasCrdtTag(bytes)) return decodeCrdt(bytes.subarray(CRDT_TAG_HEAD.length)) as T;
  return valueCodec.decode(bytes) as T;
}

/**
 * A stored value: the CBOR sequence (RFC 8742) of the hybrid logical timestamp of its write
 * (always as a CBOR uint64, nine bytes) and the value's own encoding. Like Riak's per-sibling
 * last-modified metadata, the timestamp travels with the value through every replica, hint
 * and exchange, and is what the `lastWriteWins` resolver orders siblings by.
 */
export function stampValue(encoded: Uint8Array, writtenAt: number): Uint8Array {
  const bytes = allocBytes(STAMP_BYTES + encoded.length);
  bytes[0] = UINT64_HEAD;
  // Big-endian, as two 32-bit halves: no BigInt or DataView allocated per write.
  writeUint32(bytes, 1, Math.floor(writtenAt / 0x1_0000_0000));
  writeUint32(bytes, 5, writtenAt >>> 0);
  bytes.set(encoded, STAMP_BYTES);
  return bytes;
}

/** A stored value and the timestamp of its write; `ValidationError` when `bytes` is not one. */
export function decodeStored<T>(bytes: Uint8Array): { value: T; writtenAt: number } {
  if (bytes.length <= STAMP_BYTES || bytes[0] !== UINT64_HEAD) throw new ValidationError('a stored value must begin with its write timestamp');
  const writtenAt = readUint32(bytes, 1) * 0x1_0000_0000 + readUint32(bytes, 5);
  try {
    return { value: decodeValue<T>(bytes.subarray(STAMP_BYTES)), writtenAt };
  } catch (cause) {
    if (cause instanceof ValidationError) throw cause;
    throw new ValidationError('a stored value is not valid CBOR', { cause });
  }
}

function writeUint32(bytes: Uint8Array, at: number, n: number): void {
  bytes[at] = n >>> 24;
  bytes[at + 1] = (n >>> 16) & 0xff;
  bytes[at + 2] = (n >>> 8) & 0xff;
  bytes[at + 3] = n & 0xff;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/** CBOR head of an unsigned integer with an 8-byte argument. */
const UINT64_HEAD = 0x1b;
const STAMP_BYTES = 9;

/**
 * A CRDT value is stored as CBOR tag {@link CRDT_VALUE_TAG} around its own encoding
 * (`encodeCrdt`), so that any CBOR reader sees what it is and libdynamo can merge siblings
 * that hold CRDTs without knowing the application's types.
 */
export const CRDT_VALUE_TAG = 45067;
/** The tag's head: major type 6 with a two-byte argument. */
const CRDT_TAG_HEAD = Uint8Array.of(0xd9, CRDT_VALUE_TAG >> 8, CRDT_VALUE_TAG & 0xff);

/** Whether `value` is one of the CRDTs of src/crdt/. */
export function isCrdt(value: unknown): value is Crdt {
  return value instanceof ORSet || value instanceof ORMap || value instanceof PNCounter || value instanceof LWWRegister;
}

function withCrdtTag(encoded: Uint8Array): Uint8Array {
  const bytes = allocBytes(CRDT_TAG_HEAD.length + encoded.length);
  bytes.set(CRDT_TAG_HEAD);
  bytes.set(encoded, CRDT_TAG_HEAD.length);
  return bytes;
}

/** Whether a stored value (from {@link stampValue}) holds a CRDT, read from its tag alone. */
export function isStoredCrdt(bytes: Uint8Array): boolean {
  return bytes.length > STAMP_BYTES + CRDT_TAG_HEAD.length && hasCrdtTag(bytes.subarray(STAMP_BYTES));
}

function hasCrdtTag(bytes: Uint8Array): boolean {
  return bytes.length > CRDT_TAG_HEAD.length && bytes[0] === CRDT_TAG_HEAD[0] && bytes[1] === CRDT_TAG_HEAD[1] && bytes[2] === CRDT_TAG_HEAD[2];
}

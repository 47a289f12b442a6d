/**
 * Keys and values at the public boundary: normalised to bytes and size-checked before
 * anything is written.
 * @module
 */
import { Encoder } from 'cbor-x';
import { ValidationError } from './errors.js';
import { toLatin1 } from './latin1.js';

/** A key as users pass it: a string (its UTF-8 bytes are the key) or raw bytes. */
export type Key = string | Uint8Array;

const utf8 = new TextEncoder();

/** The bytes of `key`; a string and its UTF-8 encoding name the same key. */
export function keyBytes(key: unknown, maxKeyBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof key === 'string') bytes = utf8.encode(key);
  else if (key instanceof Uint8Array) bytes = key;
  else throw new ValidationError(`key must be a string or Uint8Array, got ${key === null ? 'null' : typeof key}`);
  if (bytes.length === 0) throw new ValidationError('key must not be empty');
  if (bytes.length > maxKeyBytes) {
    throw new ValidationError(`key is ${bytes.length} bytes, over maxKeyBytes (${maxKeyBytes})`);
  }
  return bytes;
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
  try {
    bytes = valueCodec.encode(value);
  } catch (cause) {
    throw new ValidationError('value cannot be encoded as CBOR', { cause });
  }
  if (bytes.length > maxValueBytes) {
    throw new ValidationError(`value is ${bytes.length} bytes encoded, over maxValueBytes (${maxValueBytes})`);
  }
  return bytes;
}

/** Decodes a stored value. */
export function decodeValue<T>(bytes: Uint8Array): T {
  return valueCodec.decode(bytes) as T;
}

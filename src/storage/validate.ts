/**
 * Argument checks shared by the bundled `Storage` backends. They run before anything
 * is queued or applied, so a bad call fails alone and writes nothing.
 * @module
 */
import { DynamoError, ValidationError } from '../errors.js';
import type { IterateOptions, Space, StorageOp } from './storage.js';

/** Longest space name: the LevelDB backend stores the name's length in one byte. */
export const MAX_SPACE_LENGTH = 255;

/** Iteration bounds after validation; `limit` is `Infinity` when none was given. */
export interface IterateBounds {
  readonly gte: Uint8Array | undefined;
  readonly lt: Uint8Array | undefined;
  readonly limit: number;
}

/** The error every call on a storage that is not open rejects with. */
export function storageClosed(cause?: unknown): DynamoError {
  return new DynamoError('STORAGE_CLOSED', 'storage is not open', cause === undefined ? undefined : { cause });
}

/**
 * Throws unless `space` is 1 to 255 printable ASCII characters. Printable ASCII keeps the
 * LevelDB prefix's upper bound (last byte + 1) from overflowing.
 */
export function checkSpace(space: unknown): asserts space is Space {
  if (typeof space !== 'string' || space.length === 0 || space.length > MAX_SPACE_LENGTH) {
    throw new ValidationError(`space must be a string of 1 to ${MAX_SPACE_LENGTH} characters, got ${describe(space)}`);
  }
  for (let i = 0; i < space.length; i++) {
    const c = space.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new ValidationError(`space must be printable ASCII, got ${JSON.stringify(space)}`);
    }
  }
}

/** Throws unless `bytes` is a `Uint8Array` (a `Buffer` is one). */
export function checkBytes(bytes: unknown, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new ValidationError(`${what} must be a Uint8Array, got ${describe(bytes)}`);
  }
}

/** Throws unless `keys` is an array of `Uint8Array`. */
export function checkKeys(keys: unknown): asserts keys is readonly Uint8Array[] {
  if (!Array.isArray(keys)) throw new ValidationError(`keys must be an array, got ${describe(keys)}`);
  for (let i = 0; i < keys.length; i++) checkBytes(keys[i], `keys[${i}]`);
}

/** Throws unless every op of `ops` is well formed; checks all of them before any is applied. */
export function checkOps(ops: unknown): asserts ops is readonly StorageOp[] {
  if (!Array.isArray(ops)) throw new ValidationError(`batch ops must be an array, got ${describe(ops)}`);
  for (let i = 0; i < ops.length; i++) {
    const op: unknown = ops[i];
    if (typeof op !== 'object' || op === null) {
      throw new ValidationError(`ops[${i}] must be an object, got ${describe(op)}`);
    }
    const { type, space, key } = op as Record<string, unknown>;
    if (type !== 'put' && type !== 'del') {
      throw new ValidationError(`ops[${i}].type must be 'put' or 'del', got ${describe(type)}`);
    }
    try {
      checkSpace(space);
    } catch (err) {
      throw new ValidationError(`ops[${i}]: ${(err as Error).message}`);
    }
    checkBytes(key, `ops[${i}].key`);
    if (type === 'put') checkBytes((op as Record<string, unknown>)['value'], `ops[${i}].value`);
  }
}

/** Validates iteration options; `limit` must be a non-negative integer or `Infinity`. */
export function checkIterateOptions(options: IterateOptions | undefined): IterateBounds {
  if (options === undefined) return { gte: undefined, lt: undefined, limit: Infinity };
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(`iterate options must be an object, got ${describe(options)}`);
  }
  const { gte, lt, limit } = options;
  if (gte !== undefined) checkBytes(gte, 'options.gte');
  if (lt !== undefined) checkBytes(lt, 'options.lt');
  if (limit !== undefined && !(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
    throw new ValidationError(`options.limit must be a non-negative integer or Infinity, got ${describe(limit)}`);
  }
  return { gte, lt, limit: limit ?? Infinity };
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return typeof x === 'number' ? String(x) : typeof x;
}

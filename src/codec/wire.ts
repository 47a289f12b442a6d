/**
 * Frames on the wire: the unit every transport sends, as CBOR (RFC 8949).
 *
 * A frame is a CBOR array whose first item is the format version, so a peer running an
 * incompatible release is refused instead of misread:
 *
 * | frame | layout |
 * |---|---|
 * | request | `[1, 0, id, message]` |
 * | reply | `[1, 1, id, message]` |
 * | error | `[1, 2, id, code, text]` |
 *
 * An array keeps the envelope to four bytes for a small id; only the message itself spends
 * bytes on field names.
 *
 * Messages hold plain data only: `null`, `undefined`, booleans, numbers, bigints, strings,
 * `Uint8Array`, arrays and plain objects with string keys. That set survives a CBOR round
 * trip unchanged (except `-0`, which arrives as `0`), so {@link encodeFrame} refuses anything
 * else at the sender, where the mistake is, rather than letting the receiver get a `Date`,
 * a `Map` or a class instance stripped of its prototype. {@link decodeFrame} faces bytes
 * from the network and checks everything: it throws only `ValidationError`.
 * @module
 */
import { DynamoError, ValidationError } from '../errors.js';
import type { Message } from '../transport/transport.js';
import { abandonDecoding, beginDecoding, finishDecoding, readPlain } from './cbor-read.js';
import {
  abandonEncoding,
  beginEncoding,
  finishEncoding,
  writeArrayHead,
  writeNumber,
  writePlain,
  writeString,
} from './cbor-write.js';

/** Version written into every frame; a frame carrying another one is refused. */
export const WIRE_VERSION = 1;

/** Deepest nesting a message may have. Protocol messages are shallow; garbage may not be. */
export const MAX_DEPTH = 64;

/** An error as it travels back to the requester. */
export interface WireError {
  /** The remote error's stable code, e.g. `'INVALID_ARGUMENT'` or `'REMOTE_ERROR'`. */
  readonly code: string;
  readonly message: string;
}

/** Asks the peer to handle `message`; the answer carries the same `id`. */
export interface RequestFrame {
  readonly kind: 'request';
  readonly id: number;
  readonly message: Message;
}

/** The handler's answer to the request with this `id`. */
export interface ReplyFrame {
  readonly kind: 'reply';
  readonly id: number;
  readonly message: Message;
}

/** The handler's failure for the request with this `id`. */
export interface ErrorFrame {
  readonly kind: 'error';
  readonly id: number;
  readonly error: WireError;
}

/** What answers a request: the handler's message or its error. */
export type ResponseFrame = ReplyFrame | ErrorFrame;

export type Frame = RequestFrame | ResponseFrame;

const REQUEST = 0;
const REPLY = 1;
const ERROR = 2;

// Frames are written by ./cbor-write.ts exactly as cbor-x wrote them with { useRecords: false,
// tagUint8Array: false, variableMapSize: true }: plain CBOR that any decoder reads, byte
// strings untagged, exact map heads. ./cbor-read.ts builds nothing but plain data and copies
// each byte string into memory of its own: a 16-byte key kept in a map must not pin the whole
// frame (up to megabytes) it came in, nor change if the frame buffer is reused.

/**
 * Encodes a frame. Throws `ValidationError` when the frame is malformed or the message holds
 * something outside the plain-data set (see the module comment).
 * The result may share an `ArrayBuffer` with other frames: copy it before mutating it.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  if (typeof frame !== 'object' || frame === null) throw new ValidationError('a frame must be an object');
  checkId(frame.id);
  switch (frame.kind) {
    case 'request':
      return encodeMessageFrame(REQUEST, frame.id, frame.message);
    case 'reply':
      return encodeMessageFrame(REPLY, frame.id, frame.message);
    case 'error': {
      const error: unknown = frame.error;
      if (typeof error !== 'object' || error === null) throw new ValidationError('an error frame needs an error');
      const { code, message } = error as Record<string, unknown>;
      if (typeof code !== 'string' || typeof message !== 'string') {
        throw new ValidationError('an error frame needs a string code and message');
      }
      beginEncoding();
      writeArrayHead(5);
      writeNumber(WIRE_VERSION);
      writeNumber(ERROR);
      writeNumber(frame.id);
      writeString(code);
      writeString(message);
      return finishEncoding();
    }
    default:
      throw new ValidationError(`unknown frame kind ${describe((frame as { kind: unknown }).kind)}`);
  }
}

/** `[version, kind, id, message]`, refusing a message that is not plain data. */
function encodeMessageFrame(kind: number, id: number, message: Message): Uint8Array {
  if (!isPlainObject(message)) throw new ValidationError('a message must be a plain object');
  if (typeof (message as { type?: unknown }).type !== 'string') {
    throw new ValidationError('a message needs a string `type`');
  }
  beginEncoding();
  let written = false;
  try {
    writeArrayHead(4);
    writeNumber(WIRE_VERSION);
    writeNumber(kind);
    writeNumber(id);
    written = writePlain(message, 0, MAX_DEPTH);
  } finally {
    if (!written) abandonEncoding();
  }
  if (written) return finishEncoding();
  // The writer only says no; the validator says where and why.
  const fault = faultIn(message, 0);
  throw new ValidationError(`message${fault ?? ' changed while it was being encoded'}`);
}

/**
 * Decodes and fully validates a frame received from the network. Byte strings come back as
 * plain `Uint8Array`s that own their memory; objects are plain. Any fault in `bytes` —
 * truncation, garbage, an unknown version, a well-formed value of the wrong shape — throws
 * `ValidationError`, and nothing else is thrown.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('a frame must be a Uint8Array');
  let value: unknown;
  beginDecoding(bytes);
  try {
    // The envelope at depth -1 puts the message at depth 0, as encodeFrame counts. The reader
    // builds only plain data (no shared references), so the tree is no larger than the frame.
    value = readPlain(-1, MAX_DEPTH);
    finishDecoding();
  } catch (cause) {
    abandonDecoding();
    throw new ValidationError(`malformed frame: ${cause instanceof Error ? cause.message : 'undecodable'}`, { cause });
  }
  if (!Array.isArray(value) || value.length < 4) throw new ValidationError('not a libdynamo frame');
  const [version, kind, id] = value as unknown[];
  if (version !== WIRE_VERSION) {
    throw new ValidationError(`unsupported wire version ${describe(version)} (this build speaks ${WIRE_VERSION})`);
  }
  checkId(id);
  switch (kind) {
    case REQUEST:
    case REPLY: {
      if (value.length !== 4) throw new ValidationError('a request or reply frame has 4 items');
      const message: unknown = value[3];
      if (!isPlainObject(message)) throw new ValidationError('a message must be a plain object');
      if (typeof message['type'] !== 'string') throw new ValidationError('a message needs a string `type`');
      return kind === REQUEST ? { kind: 'request', id, message: message as Message } : { kind: 'reply', id, message: message as Message };
    }
    case ERROR: {
      const [, , , code, message] = value as unknown[];
      if (value.length !== 5 || typeof code !== 'string' || typeof message !== 'string') {
        throw new ValidationError('an error frame has 5 items, the last two strings');
      }
      return { kind: 'error', id, error: { code, message } };
    }
    default:
      throw new ValidationError(`unknown frame kind ${describe(kind)}`);
  }
}

/**
 * The wire form of whatever a request handler threw: a `DynamoError` keeps its code, anything
 * else becomes `REMOTE_ERROR`. Never throws, even for a value whose `message` getter or
 * `toString` does.
 */
export function toWireError(error: unknown): WireError {
  const code = error instanceof DynamoError && typeof error.code === 'string' ? error.code : 'REMOTE_ERROR';
  return { code, message: errorText(error) };
}

/**
 * The requester's view of a remote error. A plain `DynamoError`, not the subclass the code
 * belongs to: a remote `TIMEOUT` must not pass for this member's own `TimeoutError`.
 */
export function fromWireError(error: WireError): DynamoError {
  return new DynamoError(error.code, error.message);
}

function errorText(error: unknown): string {
  try {
    const message: unknown = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
    if (typeof message === 'string') return message;
    if (error instanceof Error) return `handler threw a ${error.name} without a message`;
    if (typeof error === 'object' && error !== null) return 'handler threw a non-Error object';
    return `handler threw ${String(error)}`;
  } catch {
    return 'handler threw a value that cannot be printed';
  }
}

function checkId(id: unknown): asserts id is number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new ValidationError(`a frame id must be a non-negative safe integer, got ${describe(id)}`);
  }
}

/**
 * Returns null when `value` is plain data, else where and what the first offender is
 * (`.items[2] is a Map`). Runs only once the writer has refused a message, to say why.
 */
function faultIn(value: unknown, depth: number): string | null {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      return ` is a ${typeof value}`;
  }
  if (value === null || isBytes(value)) return null;
  if (depth >= MAX_DEPTH) return ` nests deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return ' is an array subclass';
    for (let i = 0; i < value.length; i++) {
      const fault = faultIn(value[i], depth + 1);
      if (fault !== null) return `[${i}]${fault}`;
    }
    return null;
  }
  if (!isPlainObject(value)) return ` is ${describe(value)}`;
  for (const key of Object.keys(value)) {
    // An own "__proto__" key would come back as the object's prototype on a naive decoder;
    // cbor-x renames it instead, so it cannot round-trip either way.
    if (key === '__proto__') return ' has a "__proto__" key';
    const fault = faultIn((value as Record<string, unknown>)[key], depth + 1);
    if (fault !== null) return `.${key}${fault}`;
  }
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A Uint8Array or a subclass such as Buffer (both encode as a plain byte string). */
function isBytes(value: object): boolean {
  return value instanceof Uint8Array;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  const proto: unknown = Object.getPrototypeOf(value);
  const name: unknown =
    typeof proto === 'object' && proto !== null ? (proto as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
}

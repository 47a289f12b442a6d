/**
 * One key's versions (a DVV set whose values are encoded user values, `null` for a
 * tombstone) as bytes: the storage format and the replication wire format alike.
 *
 * Layout: the CBOR array `[FORMAT_VERSION, vv, cloud, values]`, where `vv` and `cloud` are
 * flat `[actor, counter, …]` arrays (as in the context string) and `values` is a flat
 * `[actor, counter, bytes | null, …]` array in canonical order. Flat arrays cost one byte of
 * framing each, and decode into no objects that are thrown away.
 *
 * Bytes come from other members, so decoding checks everything and accepts only the
 * canonical form; decoded values are fresh copies (unless the caller gives up the input), so
 * a small value never keeps a large network or storage buffer alive.
 * @module
 */
import { ValidationError } from '../errors.js';
import { setProblem, type DottedValue, type DVVSet } from '../versioning/dvvset.js';
import { describe, unflattenContext, writeContextItems } from '../versioning/context.js';
import { abandonDecoding, beginDecoding, finishDecoding, readPlain } from './cbor-read.js';
import {
  beginEncoding,
  finishEncoding,
  writeArrayHead,
  writeBytes,
  writeNull,
  writeNumber,
  writeString,
} from './cbor-write.js';

/** Version of the versions format; bump when its layout changes. */
export const VERSIONS_FORMAT_VERSION = 1;

/** A stored value: the CBOR bytes of the user's value, or `null` for a tombstone. */
export type EncodedValue = Uint8Array | null;

// Written by ./cbor-write.ts exactly as cbor-x wrote it, and read by ./cbor-read.ts: plain
// CBOR (no record extension, byte strings untagged), so that any CBOR reader can inspect
// stored data and encoders never have to agree on shared structures.
/** Container levels: the outer array and the flat lists in it. */
const MAX_DEPTH = 2;

function isEncodedValue(x: unknown): x is EncodedValue {
  return x === null || x instanceof Uint8Array;
}

/** `set` as bytes. The result may be a view into a larger buffer: copy it if it is kept. */
export function encodeVersions(set: DVVSet<EncodedValue>): Uint8Array {
  const values = set.values;
  beginEncoding();
  writeArrayHead(4);
  writeNumber(VERSIONS_FORMAT_VERSION);
  writeContextItems(set.context);
  writeArrayHead(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const { dot, value } = values[i]!;
    writeString(dot.actor);
    writeNumber(dot.counter);
    if (value === null) writeNull();
    else writeBytes(value);
  }
  return finishEncoding();
}

/** Options of {@link decodeVersions}. */
export interface DecodeVersionsOptions {
  /**
   * Copy each value out of `bytes`. Pass false when `bytes` is the caller's to give up, as
   * an array fresh from `Storage.get` or from a decoded frame is: the values are then views
   * into it, which saves a native allocation (~2.5 µs) per value larger than 64 bytes. The
   * caller must not change `bytes` afterwards, and a value kept keeps all of `bytes` alive.
   * @default true
   */
  readonly copy?: boolean;
}

/**
 * The versions `bytes` encode; `ValidationError` on anything malformed or of an unknown format.
 * Values are copies that own exactly their bytes (so a small value never keeps a large network
 * or storage buffer alive), unless `options.copy` is false.
 */
export function decodeVersions(bytes: Uint8Array, options?: DecodeVersionsOptions): DVVSet<EncodedValue> {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('versions must be a Uint8Array');
  let raw: unknown;
  beginDecoding(bytes, options?.copy !== false);
  try {
    raw = readPlain(0, MAX_DEPTH);
    finishDecoding();
  } catch (error) {
    abandonDecoding();
    throw new ValidationError(`versions are not valid CBOR: ${error instanceof Error ? error.message : 'undecodable'}`, { cause: error });
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new ValidationError('malformed versions: expected an array');
  if (raw[0] !== VERSIONS_FORMAT_VERSION) throw new ValidationError(`unknown versions format ${describe(raw[0])}`);
  if (raw.length !== 4) throw new ValidationError('malformed versions: expected [version, vector, cloud, values]');
  const context = unflattenContext(raw[1], raw[2], 'versions');
  const flat: unknown = raw[3];
  if (!Array.isArray(flat) || flat.length % 3 !== 0) throw new ValidationError('malformed versions: values must be actor, counter, value triples');
  const values: DottedValue<EncodedValue>[] = new Array(flat.length / 3);
  for (let i = 0; i < values.length; i++) {
    values[i] = {
      dot: { actor: flat[3 * i] as string, counter: flat[3 * i + 1] as number },
      value: flat[3 * i + 2] as EncodedValue,
    };
  }
  const set: DVVSet<EncodedValue> = { context, values };
  const problem = setProblem(set, isEncodedValue);
  if (problem !== undefined) throw new ValidationError(`malformed versions: ${problem}`);
  return set;
}

/**
 * One key's versions (a DVV set whose values are encoded user values, `null` for a
 * tombstone) as bytes: the storage format and the replication wire format alike.
 *
 * Layout (format 2): the CBOR array `[FORMAT_VERSION, vv, cloud, values, times]`, where
 * `vv` and `cloud` are flat `[actor, counter, …]` arrays (as in the context string),
 * `values` is a flat `[actor, counter, bytes | null, …]` array in canonical order, and
 * `times` holds one item per distinct actor of the context (vector and cloud together, in
 * actor order): when that actor last coordinated a write of the key, in whole seconds, or
 * `null` when unknown (../versioning/actor-times.ts). Parallel to the actors rather than
 * keyed by them, so no actor id is written twice. Flat arrays cost one byte of framing
 * each, and decode into no objects that are thrown away.
 *
 * Format 1 is `[1, vv, cloud, values]`, from before clock pruning; it is still read, with
 * every time unknown. Unknown is the safe reading: a replica stamps it with its own current
 * time when it stores the record, which can only make an entry look younger than it is, so
 * it is pruned later, never sooner (../versioning/clock-pruning.ts). A member of an
 * earlier release refuses format 2, so during a rolling upgrade it refuses what upgraded
 * members replicate to it until it is upgraded too.
 *
 * Bytes come from other members, so decoding checks everything and accepts only the
 * canonical form; decoded values are fresh copies (unless the caller gives up the input), so
 * a small value never keeps a large network or storage buffer alive.
 * @module
 */
import { ValidationError } from '../errors.js';
import { setProblem, type CausalContext, type DottedValue, type DVVSet } from '../versioning/dvvset.js';
import { actorsOf, isTime, NO_TIMES, type ActorTimes } from '../versioning/actor-times.js';
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
export const VERSIONS_FORMAT_VERSION = 2;

/** The format before clock pruning (no times), still decoded. */
const FORMAT_WITHOUT_TIMES = 1;

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
  writeArrayHead(5);
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
  writeTimes(set);
  return finishEncoding();
}

/** One item per actor of the context, in actor order: its time, or null when unknown. */
function writeTimes(set: DVVSet<EncodedValue>): void {
  const times = set.times ?? NO_TIMES;
  const { vv, cloud } = set.context;
  if (cloud.length === 0 && times.length === vv.length) {
    // The usual record: every actor in the vector, every time known.
    writeArrayHead(times.length);
    for (let i = 0; i < times.length; i++) writeNumber(times[i]![1]);
    return;
  }
  const actors = actorsOf(set.context);
  writeArrayHead(actors.length);
  let j = 0;
  for (let i = 0; i < actors.length; i++) {
    const known = times[j];
    if (known !== undefined && known[0] === actors[i]) {
      writeNumber(known[1]);
      j++;
    } else {
      writeNull();
    }
  }
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
  const format = raw[0];
  if (format !== VERSIONS_FORMAT_VERSION && format !== FORMAT_WITHOUT_TIMES) throw new ValidationError(`unknown versions format ${describe(format)}`);
  if (format === FORMAT_WITHOUT_TIMES && raw.length !== 4) throw new ValidationError('malformed versions: expected [1, vector, cloud, values]');
  if (format === VERSIONS_FORMAT_VERSION && raw.length !== 5) throw new ValidationError('malformed versions: expected [2, vector, cloud, values, times]');
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
  if (format === FORMAT_WITHOUT_TIMES) return set;
  // Canonical by construction: one item per actor of the (checked) context, in its order.
  const times = readTimes(raw[4], context);
  return times.length === 0 ? set : { context, values, times };
}

function readTimes(flat: unknown, context: CausalContext): ActorTimes {
  const { vv, cloud } = context;
  const actors = cloud.length === 0 ? undefined : actorsOf(context);
  const count = actors === undefined ? vv.length : actors.length;
  if (!Array.isArray(flat) || flat.length !== count) {
    throw new ValidationError('malformed versions: times must hold one item per actor of the context');
  }
  const times: (readonly [string, number])[] = [];
  for (let i = 0; i < count; i++) {
    const t: unknown = flat[i];
    if (t === null) continue;
    if (!isTime(t)) throw new ValidationError('malformed versions: a time must be null or a safe integer >= 0');
    times.push([actors === undefined ? vv[i]![0] : actors[i]!, t]);
  }
  return times;
}

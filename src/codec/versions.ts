/**
 * One key's versions (a DVV set whose values are encoded user values, `null` for a
 * tombstone) as bytes: the storage format and the replication wire format alike.
 *
 * Layout: the CBOR array `[FORMAT_VERSION, vv, cloud, values]`, where `vv` and `cloud` are
 * flat `[actor, counter, …]` arrays (as in the context string) and `values` is a flat
 * `[actor, counter, bytes | null, …]` array in canonical order. Flat arrays of small items
 * are what cbor-x encodes and decodes fastest, and cost one byte of framing per array.
 *
 * Bytes come from other members, so decoding checks everything and accepts only the
 * canonical form; decoded values are fresh copies, so a small value never keeps a large
 * network or storage buffer alive.
 * @module
 */
import { Encoder } from 'cbor-x';
import { ValidationError } from '../errors.js';
import { setProblem, type DottedValue, type DVVSet } from '../versioning/dvvset.js';
import { describe, flattenDots, flattenVV, unflattenContext } from '../versioning/context.js';

/** Version of the versions format; bump when its layout changes. */
export const VERSIONS_FORMAT_VERSION = 1;

/** A stored value: the CBOR bytes of the user's value, or `null` for a tombstone. */
export type EncodedValue = Uint8Array | null;

// Plain CBOR (no record extension, byte strings untagged) so that any CBOR reader can
// inspect stored data and encoders never have to agree on shared structures.
const codec = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

function isEncodedValue(x: unknown): x is EncodedValue {
  return x === null || x instanceof Uint8Array;
}

/** `set` as bytes. The result may be a view into a larger buffer: copy it if it is kept. */
export function encodeVersions(set: DVVSet<EncodedValue>): Uint8Array {
  const values = set.values;
  const flat: (string | number | EncodedValue)[] = new Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const { dot, value } = values[i]!;
    flat[3 * i] = dot.actor;
    flat[3 * i + 1] = dot.counter;
    flat[3 * i + 2] = value;
  }
  return codec.encode([VERSIONS_FORMAT_VERSION, flattenVV(set.context.vv), flattenDots(set.context.cloud), flat]);
}

/** The versions `bytes` encode; `ValidationError` on anything malformed or of an unknown format. */
export function decodeVersions(bytes: Uint8Array): DVVSet<EncodedValue> {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('versions must be a Uint8Array');
  let raw: unknown;
  try {
    raw = codec.decode(bytes);
  } catch (error) {
    throw new ValidationError('versions are not valid CBOR', { cause: error });
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new ValidationError('malformed versions: expected an array');
  if (raw[0] !== VERSIONS_FORMAT_VERSION) throw new ValidationError(`unknown versions format ${describe(raw[0])}`);
  if (raw.length !== 4) throw new ValidationError('malformed versions: expected [version, vector, cloud, values]');
  const context = unflattenContext(raw[1], raw[2], 'versions');
  const flat: unknown = raw[3];
  if (!Array.isArray(flat) || flat.length % 3 !== 0) throw new ValidationError('malformed versions: values must be actor, counter, value triples');
  const values: DottedValue<EncodedValue>[] = new Array(flat.length / 3);
  for (let i = 0; i < values.length; i++) {
    const bytesOrNull: unknown = flat[3 * i + 2];
    values[i] = {
      dot: { actor: flat[3 * i] as string, counter: flat[3 * i + 1] as number },
      // cbor-x hands out views into `bytes`; a copy owns exactly its own memory.
      value: bytesOrNull instanceof Uint8Array ? new Uint8Array(bytesOrNull) : (bytesOrNull as EncodedValue),
    };
  }
  const set: DVVSet<EncodedValue> = { context, values };
  const problem = setProblem(set, isEncodedValue);
  if (problem !== undefined) throw new ValidationError(`malformed versions: ${problem}`);
  return set;
}

/**
 * The opaque `context` string that `get` returns and `put`/`delete` take back: a causal
 * context (see dvvset.ts) as base64url (no padding) of the CBOR array
 * `[FORMAT_VERSION, vv, cloud]`, where `vv` is `[actor, counter, actor, counter, …]` and
 * `cloud` the same for the isolated dots. Flat arrays keep it short; it travels in every
 * request and users may store it.
 *
 * The string comes from outside (users, other members), so decoding accepts exactly the
 * canonical form, down to the bytes, and turns every other input into a `ValidationError`,
 * never a crash: a non-canonical context could claim or hide versions in ways `update` was
 * not written for.
 * @module
 */
import { Buffer } from 'node:buffer';
import { ValidationError } from '../errors.js';
import type { VersionVector } from './version-vector.js';
import { contextProblem, type CausalContext, type Dot } from './dvvset.js';
import { abandonDecoding, beginDecoding, finishDecoding, readPlain } from '../codec/cbor-read.js';
import { beginEncoding, finishEncoding, writeArrayHead, writeNumber, writeString } from '../codec/cbor-write.js';

/** Version of the context format; bump when its layout changes. */
export const CONTEXT_FORMAT_VERSION = 1;

/** Longest context string accepted, in characters: far above any real one, bounds the work. */
export const MAX_CONTEXT_CHARS = 64 * 1024;

// Plain CBOR, no record extension, written by ../codec/cbor-write.ts exactly as cbor-x wrote it
// (so every context string issued before stays canonical); both ends need no shared table.
/** Container levels: the outer array and the flat lists in it. */
const MAX_DEPTH = 2;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** `vv` as `[actor, counter, …]`, the shape every libdynamo format stores it in. */
export function flattenVV(vv: VersionVector): (string | number)[] {
  const out: (string | number)[] = new Array(vv.length * 2);
  for (let i = 0; i < vv.length; i++) {
    const [actor, counter] = vv[i]!;
    out[2 * i] = actor;
    out[2 * i + 1] = counter;
  }
  return out;
}

/** Dots as `[actor, counter, …]`. */
export function flattenDots(dots: readonly Dot[]): (string | number)[] {
  const out: (string | number)[] = new Array(dots.length * 2);
  for (let i = 0; i < dots.length; i++) {
    const d = dots[i]!;
    out[2 * i] = d.actor;
    out[2 * i + 1] = d.counter;
  }
  return out;
}

/**
 * The context whose flattened vector and cloud are `vv` and `cloud` (decoded, untrusted).
 * Throws `ValidationError` unless the result is canonical.
 */
export function unflattenContext(vv: unknown, cloud: unknown, what = 'context'): CausalContext {
  if (!Array.isArray(vv) || vv.length % 2 !== 0) throw new ValidationError(`malformed ${what}: the vector must be an array of actor, counter pairs`);
  if (!Array.isArray(cloud) || cloud.length % 2 !== 0) throw new ValidationError(`malformed ${what}: the cloud must be an array of actor, counter pairs`);
  const entries: (readonly [string, number])[] = new Array(vv.length / 2);
  for (let i = 0; i < entries.length; i++) entries[i] = [vv[2 * i] as string, vv[2 * i + 1] as number];
  const dots: Dot[] = new Array(cloud.length / 2);
  for (let i = 0; i < dots.length; i++) dots[i] = { actor: cloud[2 * i] as string, counter: cloud[2 * i + 1] as number };
  const ctx: CausalContext = { vv: entries, cloud: dots };
  const problem = contextProblem(ctx);
  if (problem !== undefined) throw new ValidationError(`malformed ${what}: ${problem}`);
  return ctx;
}

/** A decoded field for an error message, without calling anything the input could supply. */
export function describe(x: unknown): string {
  return typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean' ? String(x) : x === null ? 'null' : typeof x;
}

/**
 * Writes `ctx`'s vector and cloud as two flat CBOR arrays `[actor, counter, …]` into the
 * encoding in progress (../codec/cbor-write.ts), the shape every libdynamo format uses.
 */
export function writeContextItems(ctx: CausalContext): void {
  const { vv, cloud } = ctx;
  writeArrayHead(vv.length * 2);
  for (let i = 0; i < vv.length; i++) {
    const [actor, counter] = vv[i]!;
    writeString(actor);
    writeNumber(counter);
  }
  writeArrayHead(cloud.length * 2);
  for (let i = 0; i < cloud.length; i++) {
    const d = cloud[i]!;
    writeString(d.actor);
    writeNumber(d.counter);
  }
}

/** The opaque string form of `ctx` (which must be canonical, as dvvset.ts produces). */
export function encodeContext(ctx: CausalContext): string {
  beginEncoding();
  writeArrayHead(3);
  writeNumber(CONTEXT_FORMAT_VERSION);
  writeContextItems(ctx);
  return finishEncoding().toString('base64url');
}

/** The context a string from {@link encodeContext} stands for; `ValidationError` on anything else. */
export function decodeContext(text: unknown): CausalContext {
  if (typeof text !== 'string') throw new ValidationError(`context must be a string, got ${text === null ? 'null' : typeof text}`);
  if (text.length > MAX_CONTEXT_CHARS) throw new ValidationError(`context is ${text.length} characters, over ${MAX_CONTEXT_CHARS}`);
  // Node's base64 decoder skips characters it does not know; other spellings of the same
  // bytes (non-zero padding bits) are caught by the final re-encoding check.
  if (text.length % 4 === 1 || !BASE64URL.test(text)) throw new ValidationError('context is not base64url');
  const bytes = Buffer.from(text, 'base64url');
  let raw: unknown;
  beginDecoding(bytes);
  try {
    raw = readPlain(0, MAX_DEPTH);
    finishDecoding();
  } catch (error) {
    abandonDecoding();
    throw new ValidationError('context is not valid CBOR', { cause: error });
  }
  if (!Array.isArray(raw) || raw.length !== 3) throw new ValidationError('malformed context: expected [version, vector, cloud]');
  if (raw[0] !== CONTEXT_FORMAT_VERSION) throw new ValidationError(`unknown context format ${describe(raw[0])}`);
  const ctx = unflattenContext(raw[1], raw[2]);
  // CBOR allows other spellings of the same items (long-form integers, indefinite lengths,
  // surrogates spelled apart), base64 has padding bits: insisting on our own encoding
  // refuses them all, so strings and histories are one-to-one.
  if (encodeContext(ctx) !== text) throw new ValidationError('context is not in canonical encoding');
  return ctx;
}

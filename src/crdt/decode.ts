/**
 * Reading a CRDT back from its stored form (./encode.ts describes the layouts).
 *
 * The bytes come from disk and from other members, so everything is checked: the tag and
 * version, every shape, count and actor index, that the causal context is canonical, that
 * every live dot is one the context has seen and that no dot names two things, that entries
 * are sorted without duplicates, that values are canonical plain data. Last, the state is
 * encoded again and must give back the same bytes, so each state has one encoding and no
 * other spelling of it gets in. Anything else is a `ValidationError`, never another error.
 * @module
 */
import { Buffer } from 'node:buffer';
import { ValidationError } from '../errors.js';
import { abandonDecoding, beginDecoding, finishDecoding, readPlain } from '../codec/cbor-read.js';
import { describe } from '../versioning/context.js';
import { actorProblem, compareDots, contextProblem, covers, dotKey, type CausalContext, type Dot, type Dots } from './dots.js';
import { CRDT_FORMAT_VERSION, encodeCrdt } from './encode.js';
import { compareFieldKeys, isEmptyField, type CounterEntry, type Field, type MapStore, type RegisterEntry } from './field-store.js';
import type { HlcTimestamp } from './hlc.js';
import { LWWRegister, type Written } from './lww-register.js';
import { MAX_MAP_DEPTH, ORMap } from './or-map.js';
import { ORSet } from './or-set.js';
import { checkEncodedValue, isWellFormed, keyOf } from './plain-value.js';
import { PNCounter, type PNCounterEntry } from './pn-counter.js';
import type { SetEntry, SetStore } from './set-store.js';
import { CRDT_TAGS, type Crdt, type CrdtTag, type CrdtType } from './types.js';

/**
 * Container levels: the outer array; actors, context and top fields; each map level's
 * fields one deeper; dot lists inside the deepest.
 */
const MAX_DEPTH = MAX_MAP_DEPTH + 3;

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isTag(x: unknown): x is CrdtTag {
  return CRDT_TAGS.includes(x as CrdtTag);
}

function fail(what: string, why: string): never {
  throw new ValidationError(`malformed ${what}: ${why}`);
}

function flatList(raw: unknown, width: number, what: string, name: string): unknown[] {
  if (!Array.isArray(raw) || raw.length % width !== 0) fail(what, `${name} must be a flat list of ${width}-item groups`);
  return raw;
}

/** Parses the parts of one causal state, keeping what has to hold across all of them. */
class CausalReader {
  /** Every live dot met so far: a dot names one thing. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly what: string,
    private readonly actors: readonly string[],
    readonly ctx: CausalContext,
  ) {}

  actor(index: unknown): string {
    if (!isCount(index) || index >= this.actors.length) fail(this.what, 'an actor index is out of range');
    return this.actors[index]!;
  }

  dot(index: unknown, counter: unknown): Dot {
    const actor = this.actor(index);
    if (!isCount(counter) || counter < 1) fail(this.what, 'a dot counter must be a safe integer >= 1');
    const dot: Dot = { actor, counter };
    if (!covers(this.ctx, dot)) fail(this.what, 'a live dot is missing from the causal context');
    const key = dotKey(dot);
    if (this.seen.has(key)) fail(this.what, 'a dot appears twice');
    this.seen.add(key);
    return dot;
  }

  dots(raw: unknown): Dots {
    const flat = flatList(raw, 2, this.what, 'a dot list');
    const dots: Dot[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const dot = this.dot(flat[i], flat[i + 1]);
      if (dots.length > 0 && compareDots(dots[dots.length - 1]!, dot) >= 0) fail(this.what, 'dots must be strictly sorted');
      dots.push(dot);
    }
    return dots;
  }

  setStore(raw: unknown): SetStore {
    const flat = flatList(raw, 2, this.what, 'the elements');
    const out: SetEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const bytes = flat[i];
      if (!(bytes instanceof Uint8Array)) fail(this.what, 'an element must be a byte string');
      checkEncodedValue(bytes, 'an element');
      const key = keyOf(bytes);
      if (out.length > 0 && !(out[out.length - 1]!.key < key)) fail(this.what, 'elements must be strictly sorted by encoding');
      const dots = this.dots(flat[i + 1]);
      if (dots.length === 0) fail(this.what, 'an element must have a dot');
      out.push({ key, bytes, dots });
    }
    return out;
  }

  private written(ms: unknown, logical: unknown, actor: string, bytes: unknown): Written {
    if (!isCount(ms) || !isCount(logical)) fail(this.what, 'a timestamp needs safe integers ms, logical >= 0');
    if (!(bytes instanceof Uint8Array)) fail(this.what, 'a register value must be a byte string');
    checkEncodedValue(bytes, 'a register value');
    const ts: HlcTimestamp = { ms, logical, actor };
    return { ts, bytes, key: keyOf(bytes) };
  }

  private counterStore(raw: unknown): CounterEntry[] {
    const flat = flatList(raw, 5, this.what, 'a counter');
    const out: CounterEntry[] = [];
    for (let i = 0; i < flat.length; i += 5) {
      const dot = this.dot(flat[i], flat[i + 1]);
      const actor = this.actor(flat[i + 2]);
      const p = flat[i + 3];
      const n = flat[i + 4];
      if (!isCount(p) || !isCount(n)) fail(this.what, 'counter totals must be safe integers >= 0');
      if (out.length > 0 && compareDots(out[out.length - 1]!.dot, dot) >= 0) fail(this.what, 'counter entries must be sorted by dot');
      out.push({ dot, actor, p, n });
    }
    return out;
  }

  private registerStore(raw: unknown): RegisterEntry[] {
    const flat = flatList(raw, 6, this.what, 'a register');
    const out: RegisterEntry[] = [];
    for (let i = 0; i < flat.length; i += 6) {
      const dot = this.dot(flat[i], flat[i + 1]);
      const written = this.written(flat[i + 2], flat[i + 3], this.actor(flat[i + 4]), flat[i + 5]);
      if (out.length > 0 && compareDots(out[out.length - 1]!.dot, dot) >= 0) fail(this.what, 'register entries must be sorted by dot');
      out.push({ dot, written });
    }
    return out;
  }

  /** The fields of a map at `level` (the top map is level 1). */
  mapStore(raw: unknown, level: number): MapStore {
    const flat = flatList(raw, 4, this.what, 'the fields');
    const out: Field[] = [];
    for (let i = 0; i < flat.length; i += 4) {
      const name = flat[i];
      const type = flat[i + 1];
      if (typeof name !== 'string' || !isWellFormed(name)) fail(this.what, 'a field name must be a well-formed string');
      if (!isTag(type)) fail(this.what, `unknown field type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : describe(type)}`);
      if (out.length > 0 && compareFieldKeys(name, type, out[out.length - 1]!) <= 0) fail(this.what, 'fields must be strictly sorted by (name, type)');
      const presence = this.dots(flat[i + 2]);
      const store = flat[i + 3];
      let field: Field;
      switch (type) {
        case 'orset':
          field = { name, type, presence, store: this.setStore(store) };
          break;
        case 'ormap':
          if (level >= MAX_MAP_DEPTH) fail(this.what, `maps nest more than ${MAX_MAP_DEPTH} levels deep`);
          field = { name, type, presence, store: this.mapStore(store, level + 1) };
          break;
        case 'pncounter':
          field = { name, type, presence, store: this.counterStore(store) };
          break;
        case 'lwwregister':
          field = { name, type, presence, store: this.registerStore(store) };
          break;
      }
      if (isEmptyField(field)) fail(this.what, 'a field must have a presence dot or some content');
      out.push(field);
    }
    return out;
  }
}

/** The actors table and context of a causal state: `[tag, version, actors, vv, cloud, store]`. */
function causalReader(raw: unknown[], what: string): CausalReader {
  if (raw.length !== 6) fail(what, 'expected [tag, version, actors, vv, cloud, store]');
  const list = raw[2];
  if (!Array.isArray(list)) fail(what, 'the actors must be a list');
  for (let i = 0; i < list.length; i++) {
    const actor: unknown = list[i];
    const problem = actorProblem(actor);
    if (problem !== undefined) fail(what, problem);
    if (i > 0 && !((list[i - 1] as string) < (actor as string))) fail(what, 'the actors must be strictly sorted');
  }
  const actors = list as string[];
  const index = (x: unknown): string => {
    if (!isCount(x) || x >= actors.length) fail(what, 'an actor index is out of range');
    return actors[x]!;
  };
  const vv = flatList(raw[3], 2, what, 'the version vector');
  const cloud = flatList(raw[4], 2, what, 'the cloud');
  const ctx: CausalContext = {
    vv: Array.from({ length: vv.length / 2 }, (_, i) => [index(vv[2 * i]), vv[2 * i + 1] as number] as const),
    cloud: Array.from({ length: cloud.length / 2 }, (_, i) => ({ actor: index(cloud[2 * i]), counter: cloud[2 * i + 1] as number })),
  };
  const problem = contextProblem(ctx);
  if (problem !== undefined) fail(what, problem);
  return new CausalReader(what, actors, ctx);
}

function readPNCounter(raw: unknown[]): PNCounter {
  const what = PNCounter.tag;
  if (raw.length !== 3) fail(what, 'expected [tag, version, entries]');
  const flat = flatList(raw[2], 3, what, 'the entries');
  const store: PNCounterEntry[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    const [actor, p, n] = [flat[i], flat[i + 1], flat[i + 2]];
    const problem = actorProblem(actor);
    if (problem !== undefined) fail(what, problem);
    if (!isCount(p) || !isCount(n)) fail(what, 'totals must be safe integers >= 0');
    if (p === 0 && n === 0) fail(what, 'an entry must not be all zero');
    if (store.length > 0 && !(store[store.length - 1]!.actor < (actor as string))) fail(what, 'entries must be strictly sorted by actor');
    store.push({ actor: actor as string, p, n });
  }
  return PNCounter.fromState(store);
}

function readLWWRegister(raw: unknown[]): LWWRegister<unknown> {
  const what = LWWRegister.tag;
  if (raw.length === 2) return LWWRegister.empty();
  if (raw.length !== 6) fail(what, 'expected [tag, version] or [tag, version, ms, logical, actor, value]');
  const [, , ms, logical, actor, bytes] = raw;
  if (!isCount(ms) || !isCount(logical)) fail(what, 'a timestamp needs safe integers ms, logical >= 0');
  const problem = actorProblem(actor);
  if (problem !== undefined) fail(what, problem);
  if (!(bytes instanceof Uint8Array)) fail(what, 'the value must be a byte string');
  checkEncodedValue(bytes, 'a register value');
  return LWWRegister.fromState({ ts: { ms, logical, actor: actor as string }, bytes, key: keyOf(bytes) });
}

function readCrdt(bytes: Uint8Array, expected: CrdtTag | undefined): Crdt {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('an encoded CRDT must be a Uint8Array');
  let raw: unknown;
  beginDecoding(bytes, true);
  try {
    raw = readPlain(0, MAX_DEPTH);
    finishDecoding();
  } catch (error) {
    abandonDecoding();
    throw new ValidationError(`an encoded CRDT is not valid CBOR: ${error instanceof Error ? error.message : 'undecodable'}`, { cause: error });
  }
  if (!Array.isArray(raw) || raw.length < 2) throw new ValidationError('an encoded CRDT must be an array [tag, version, …]');
  const [tag, version] = raw as unknown[];
  if (!isTag(tag)) {
    throw new ValidationError(`unknown CRDT type tag ${typeof tag === 'string' ? JSON.stringify(tag.slice(0, 40)) : describe(tag)}`);
  }
  if (expected !== undefined && tag !== expected) throw new ValidationError(`expected an encoded ${expected}, got ${tag}`);
  if (version !== CRDT_FORMAT_VERSION) throw new ValidationError(`unknown ${tag} format version ${describe(version)}`);
  let crdt: Crdt;
  switch (tag) {
    case 'pncounter':
      crdt = readPNCounter(raw);
      break;
    case 'lwwregister':
      crdt = readLWWRegister(raw);
      break;
    case 'orset': {
      const reader = causalReader(raw, tag);
      crdt = ORSet.fromState(reader.ctx, reader.setStore(raw[5]));
      break;
    }
    case 'ormap': {
      const reader = causalReader(raw, tag);
      crdt = ORMap.fromState(reader.ctx, reader.mapStore(raw[5], 1));
      break;
    }
  }
  // Other spellings of the same items (long heads, indefinite lengths, float widths, an unused
  // actor) would make equal states differ in bytes: only our own encoding is accepted.
  if (Buffer.compare(encodeCrdt(crdt), bytes) !== 0) throw new ValidationError(`an encoded ${tag} is not in canonical encoding`);
  return crdt;
}

/**
 * The CRDT `bytes` encode (from `encodeCrdt`). With `type` (`ORSet`, `ORMap`, `PNCounter` or
 * `LWWRegister`), the encoding must be of that type. Throws `ValidationError`, and nothing
 * else, on any other input: wrong tag, unknown version, malformed or non-canonical data.
 */
export function decodeCrdt(bytes: Uint8Array): Crdt;
export function decodeCrdt<C extends Crdt>(bytes: Uint8Array, type: CrdtType<C>): C;
export function decodeCrdt(bytes: Uint8Array, type?: CrdtType): Crdt {
  let expected: CrdtTag | undefined;
  if (type !== undefined) {
    if (type !== ORSet && type !== ORMap && type !== PNCounter && type !== LWWRegister) {
      throw new ValidationError('decodeCrdt: type must be ORSet, ORMap, PNCounter or LWWRegister');
    }
    expected = type.tag;
  }
  try {
    return readCrdt(bytes, expected);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError('an encoded CRDT could not be read', { cause: error });
  }
}

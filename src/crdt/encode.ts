/**
 * The stored form of a CRDT: canonical CBOR (RFC 8949), one array whose first two items say
 * what it is, `[tag, FORMAT_VERSION, …]`. The reader is ./decode.ts.
 *
 * | CRDT | layout |
 * |---|---|
 * | PNCounter | `["pncounter", 1, [actor, p, n, …]]`, sorted by actor |
 * | LWWRegister | `["lwwregister", 1]` when empty, else `["lwwregister", 1, ms, logical, actor, value]` |
 * | ORSet | `["orset", 1, actors, vv, cloud, elements]` |
 * | ORMap | `["ormap", 1, actors, vv, cloud, fields]` |
 *
 * In the causal types, `actors` lists every actor the state mentions, sorted, and everything
 * after it names an actor by its index there: a dot is two small integers, not a member id.
 * `vv` and `cloud` are flat `[actor, counter, …]` lists (the causal context, as
 * ../versioning/context.ts writes it); `elements` is flat `[value, dots, …]`; `fields` is
 * flat `[name, tag, presence, store, …]` with `store` by tag: a set's `elements`, a map's
 * `fields`, a counter's `[dotActor, dotCounter, actor, p, n, …]`, a register's
 * `[dotActor, dotCounter, ms, logical, actor, value, …]`. Lists of dots are flat
 * `[actor, counter, …]`. Element and register values are byte strings holding their own
 * canonical CBOR (./plain-value.ts), which is also what identifies and orders them.
 *
 * Written with ../codec/cbor-write.ts (plain CBOR, minimal heads, as cbor-x writes it). Every
 * state has exactly one encoding, so equal states are equal bytes: a Merkle tree or a hash
 * comparing stored values sees converged replicas as equal.
 * @module
 */
import { ValidationError } from '../errors.js';
import {
  abandonEncoding,
  beginEncoding,
  finishEncoding,
  writeArrayHead,
  writeBytes,
  writeNumber,
  writeString,
} from '../codec/cbor-write.js';
import type { CausalContext, Dots } from './dots.js';
import type { MapStore } from './field-store.js';
import { LWWRegister } from './lww-register.js';
import { ORMap } from './or-map.js';
import { ORSet } from './or-set.js';
import { PNCounter } from './pn-counter.js';
import type { SetStore } from './set-store.js';
import type { Crdt } from './types.js';

/** Version of the CRDT formats; bump when a layout changes. */
export const CRDT_FORMAT_VERSION = 1;

type ActorIndex = ReadonlyMap<string, number>;

/** The sorted actors of a causal state, each with its index. */
function actorIndex(ctx: CausalContext, collect: (add: (actor: string) => void) => void): { list: string[]; index: ActorIndex } {
  const set = new Set<string>();
  const add = (actor: string): void => void set.add(actor);
  for (const [actor] of ctx.vv) add(actor);
  for (const dot of ctx.cloud) add(dot.actor);
  collect(add);
  const list = [...set].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return { list, index: new Map(list.map((actor, i) => [actor, i])) };
}

function collectSet(store: SetStore, add: (actor: string) => void): void {
  for (const entry of store) for (const dot of entry.dots) add(dot.actor);
}

function collectMap(store: MapStore, add: (actor: string) => void): void {
  for (const field of store) {
    for (const dot of field.presence) add(dot.actor);
    switch (field.type) {
      case 'orset':
        collectSet(field.store, add);
        break;
      case 'ormap':
        collectMap(field.store, add);
        break;
      case 'pncounter':
        for (const e of field.store) {
          add(e.dot.actor);
          add(e.actor);
        }
        break;
      case 'lwwregister':
        for (const e of field.store) {
          add(e.dot.actor);
          add(e.written.ts.actor);
        }
        break;
    }
  }
}

function writeDots(dots: Dots, index: ActorIndex): void {
  writeArrayHead(dots.length * 2);
  for (const dot of dots) {
    writeNumber(index.get(dot.actor)!);
    writeNumber(dot.counter);
  }
}

function writeHeader(tag: string, list: readonly string[], ctx: CausalContext, index: ActorIndex): void {
  writeArrayHead(6);
  writeString(tag);
  writeNumber(CRDT_FORMAT_VERSION);
  writeArrayHead(list.length);
  for (const actor of list) writeString(actor);
  writeArrayHead(ctx.vv.length * 2);
  for (const [actor, counter] of ctx.vv) {
    writeNumber(index.get(actor)!);
    writeNumber(counter);
  }
  writeDots(ctx.cloud, index);
}

function writeSetStore(store: SetStore, index: ActorIndex): void {
  writeArrayHead(store.length * 2);
  for (const entry of store) {
    writeBytes(entry.bytes);
    writeDots(entry.dots, index);
  }
}

function writeMapStore(store: MapStore, index: ActorIndex): void {
  writeArrayHead(store.length * 4);
  for (const field of store) {
    writeString(field.name);
    writeString(field.type);
    writeDots(field.presence, index);
    switch (field.type) {
      case 'orset':
        writeSetStore(field.store, index);
        break;
      case 'ormap':
        writeMapStore(field.store, index);
        break;
      case 'pncounter':
        writeArrayHead(field.store.length * 5);
        for (const e of field.store) {
          writeNumber(index.get(e.dot.actor)!);
          writeNumber(e.dot.counter);
          writeNumber(index.get(e.actor)!);
          writeNumber(e.p);
          writeNumber(e.n);
        }
        break;
      case 'lwwregister':
        writeArrayHead(field.store.length * 6);
        for (const { dot, written } of field.store) {
          writeNumber(index.get(dot.actor)!);
          writeNumber(dot.counter);
          writeNumber(written.ts.ms);
          writeNumber(written.ts.logical);
          writeNumber(index.get(written.ts.actor)!);
          writeBytes(written.bytes);
        }
        break;
    }
  }
}

function writeCrdt(crdt: Crdt): void {
  if (crdt instanceof PNCounter) {
    writeArrayHead(3);
    writeString(PNCounter.tag);
    writeNumber(CRDT_FORMAT_VERSION);
    writeArrayHead(crdt.store.length * 3);
    for (const e of crdt.store) {
      writeString(e.actor);
      writeNumber(e.p);
      writeNumber(e.n);
    }
  } else if (crdt instanceof LWWRegister) {
    const written = crdt.written;
    writeArrayHead(written === undefined ? 2 : 6);
    writeString(LWWRegister.tag);
    writeNumber(CRDT_FORMAT_VERSION);
    if (written !== undefined) {
      writeNumber(written.ts.ms);
      writeNumber(written.ts.logical);
      writeString(written.ts.actor);
      writeBytes(written.bytes);
    }
  } else if (crdt instanceof ORSet) {
    const { list, index } = actorIndex(crdt.ctx, (add) => collectSet(crdt.store, add));
    writeHeader(ORSet.tag, list, crdt.ctx, index);
    writeSetStore(crdt.store, index);
  } else {
    const map = crdt as ORMap;
    const { list, index } = actorIndex(map.ctx, (add) => collectMap(map.store, add));
    writeHeader(ORMap.tag, list, map.ctx, index);
    writeMapStore(map.store, index);
  }
}

/**
 * The canonical encoding of `crdt`, a fresh `Uint8Array`; `decodeCrdt` reads it back.
 * Equal states encode to equal bytes.
 */
export function encodeCrdt(crdt: Crdt): Uint8Array {
  if (!(crdt instanceof PNCounter || crdt instanceof LWWRegister || crdt instanceof ORSet || crdt instanceof ORMap)) {
    throw new ValidationError('encodeCrdt needs a PNCounter, LWWRegister, ORSet or ORMap');
  }
  beginEncoding();
  try {
    writeCrdt(crdt);
  } catch (error) {
    abandonEncoding();
    throw error;
  }
  // A copy: the encoder's result shares a 64 KiB slab, which a stored value must not pin.
  return new Uint8Array(finishEncoding());
}

/**
 * Hinted handoff's durable half (§4.6): the copies this member holds as a stand-in for
 * owners that were unreachable when a write was made, in the `hints` space of Storage, so
 * they survive a restart. One record per (key, intended owner), in the same format as a
 * replica, merged causally like one; an in-memory index (rebuilt from Storage on start)
 * answers "how many", "for whom" and "which hints for this key" without scanning.
 * @module
 */
import type { Storage } from '../storage/storage.js';
import { wallTime, type Clock } from '../time/clock.js';
import { sync, type CausalContext } from '../versioning/dvvset.js';
import { keyId } from '../keys.js';
import { ReplicaStore, type Coordinated, type StoredValue, type Versions } from '../replica/replica-store.js';
import type { DotCounter } from '../replica/identity.js';

export const HINTS_SPACE = 'hints';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Storage key of a hint: 2-byte key length, key, target id — so one key's hints are adjacent. */
export function hintKey(key: Uint8Array, target: string): Uint8Array {
  const id = utf8.encode(target);
  const out = new Uint8Array(2 + key.length + id.length);
  out[0] = key.length >>> 8;
  out[1] = key.length & 0xff;
  out.set(key, 2);
  out.set(id, 2 + key.length);
  return out;
}

function parseHintKey(bytes: Uint8Array): { key: Uint8Array; target: string } | undefined {
  if (bytes.length < 3) return undefined;
  const length = (bytes[0]! << 8) | bytes[1]!;
  if (bytes.length <= 2 + length) return undefined;
  return { key: bytes.slice(2, 2 + length), target: utf8Decoder.decode(bytes.subarray(2 + length)) };
}

/** One hint as the index knows it. */
export interface HintEntry {
  readonly key: Uint8Array;
  readonly target: string;
  readonly storageKey: Uint8Array;
  /** When this process first held the hint (clock time; restarts count from load). */
  readonly since: number;
}

export interface HintStoreOptions {
  readonly storage: Storage;
  readonly counter: DotCounter;
  readonly clock: Clock;
  /** Most versions a write coordinated here as a stand-in may leave (see ReplicaStore). */
  readonly maxSiblings?: number;
  readonly maxHints: number;
  /** A hint was dropped to stay within `maxHints`. */
  onDropped(entry: HintEntry): void;
}

export class HintStore {
  readonly #options: HintStoreOptions;
  readonly #records: ReplicaStore;
  /** By storage key (latin1), in insertion order: the first entry is the oldest. */
  readonly #entries = new Map<string, HintEntry>();
  /** Targets with hints for each key (latin1 of the key). */
  readonly #byKey = new Map<string, Set<string>>();

  constructor(options: HintStoreOptions) {
    this.#options = options;
    // Stamped, so the owner learns when the stand-in's write was made (it never prunes here).
    this.#records = new ReplicaStore(options.storage, HINTS_SPACE, options.counter, {
      now: () => wallTime(options.clock),
      ...(options.maxSiblings === undefined ? {} : { maxSiblings: options.maxSiblings }),
    });
  }

  /** Rebuilds the index from Storage. */
  async load(): Promise<void> {
    for await (const [storageKey] of this.#options.storage.iterate(HINTS_SPACE)) {
      const parsed = parseHintKey(storageKey);
      if (parsed !== undefined) this.#index(parsed.key, parsed.target, storageKey);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Members this one holds hints for. */
  targets(): string[] {
    const targets = new Set<string>();
    for (const entry of this.#entries.values()) targets.add(entry.target);
    return [...targets];
  }

  /** The hints held for `target`, oldest first. */
  entriesFor(target: string): HintEntry[] {
    return [...this.#entries.values()].filter((e) => e.target === target);
  }

  /** A write coordinated by this member as a stand-in for `target`. */
  async coordinate(key: Uint8Array, target: string, context: CausalContext, actor: string, value: StoredValue): Promise<Coordinated> {
    const storageKey = hintKey(key, target);
    const written = await this.#records.coordinate(storageKey, context, actor, value);
    await this.#added(key, target, storageKey);
    return written;
  }

  /** Versions sent to this member as a stand-in for `target`. */
  async merge(key: Uint8Array, target: string, incoming: Versions, incomingBytes?: Uint8Array): Promise<void> {
    const storageKey = hintKey(key, target);
    await this.#records.merge(storageKey, incoming, incomingBytes);
    await this.#added(key, target, storageKey);
  }

  /** Whether this member holds a hint of `key` for any owner. */
  holds(key: Uint8Array): boolean {
    return this.#byKey.size > 0 && this.#byKey.has(keyId(key));
  }

  /** Everything held for `key` for any owner, merged; `undefined` when nothing. */
  async read(key: Uint8Array): Promise<Versions | undefined> {
    const targets = this.#byKey.size === 0 ? undefined : this.#byKey.get(keyId(key));
    if (targets === undefined) return undefined;
    let merged: Versions | undefined;
    for (const target of targets) {
      const versions = await this.#records.read(hintKey(key, target));
      if (versions !== undefined) merged = merged === undefined ? versions : sync(merged, versions);
    }
    return merged;
  }

  /** The stored bytes of a hint, to ship to its owner. */
  readEncoded(entry: HintEntry): Promise<Uint8Array | undefined> {
    return this.#records.readEncoded(entry.storageKey);
  }

  /** Drops a delivered hint, unless a write reached it after `delivered` was read. */
  async settle(entry: HintEntry, delivered: Uint8Array): Promise<boolean> {
    const deleted = await this.#records.deleteIfUnchanged(entry.storageKey, delivered);
    if (!deleted) return false;
    this.#unindex(entry);
    // A write for the same owner may have landed between the delete and the unindex: it
    // found the entry still indexed and added nothing, so index it again.
    if ((await this.#records.readEncoded(entry.storageKey)) !== undefined) this.#index(entry.key, entry.target, entry.storageKey);
    return true;
  }

  /** Drops every hint held since before `cutoff` (clock time); returns how many. */
  async expire(cutoff: number): Promise<number> {
    let dropped = 0;
    // Entries are in insertion order, so the old ones come first.
    for (const entry of [...this.#entries.values()]) {
      if (entry.since >= cutoff) break;
      this.#unindex(entry);
      await this.#records.delete(entry.storageKey);
      this.#options.onDropped(entry);
      dropped++;
    }
    return dropped;
  }

  async #added(key: Uint8Array, target: string, storageKey: Uint8Array): Promise<void> {
    if (!this.#index(key, target, storageKey)) return;
    while (this.#entries.size > this.#options.maxHints) {
      const oldest = this.#entries.values().next().value as HintEntry;
      this.#unindex(oldest);
      await this.#records.delete(oldest.storageKey);
      this.#options.onDropped(oldest);
    }
  }

  /** Adds to the index; false if it was there already. */
  #index(key: Uint8Array, target: string, storageKey: Uint8Array): boolean {
    const id = keyId(storageKey);
    if (this.#entries.has(id)) return false;
    this.#entries.set(id, { key, target, storageKey, since: this.#options.clock.now() });
    const k = keyId(key);
    let targets = this.#byKey.get(k);
    if (targets === undefined) this.#byKey.set(k, (targets = new Set()));
    targets.add(target);
    return true;
  }

  #unindex(entry: HintEntry): void {
    this.#entries.delete(keyId(entry.storageKey));
    const k = keyId(entry.key);
    const targets = this.#byKey.get(k);
    targets?.delete(entry.target);
    if (targets?.size === 0) this.#byKey.delete(k);
  }
}

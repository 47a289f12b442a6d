/**
 * Anti-entropy between two replicas (Dynamo §4.7): compare the roots of the partitions
 * both replicate, descend into the leaves (segments) of the partitions whose roots differ,
 * list the keys of the differing segments with their digests, and ship each side the
 * records the other lacks or holds differently. Both sides merge causally (DVV sync), so
 * after one exchange the two replicas of every compared key are identical.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { Message } from '../transport/transport.js';
import type { SyncReport } from '../events.js';
import { decodeVersions } from '../codec/versions.js';
import type { ReplicaStore } from '../replica/replica-store.js';
import { DATA_SPACE } from '../replica/replica-store.js';
import { keyId } from '../keys.js';
import { sameBytes } from '../bytes.js';
import { EMPTY_DIGEST, entryDigest, type Digest } from './merkle-tree.js';
import { LEAF_BITS, keyView, leafRange, partitionRange } from './layout.js';
import { differingIndices, packDigests, type HashTrees } from './trees.js';

/** Partitions exchanged at once with one peer. */
const PARALLEL_PARTITIONS = 16;

/** Segments of a partition, and all their indices. */
const LEAVES = 1 << LEAF_BITS;
const ALL_LEAVES: readonly number[] = Array.from({ length: LEAVES }, (_, i) => i);
/** The leaves of an empty partition: compared with them, a peer names the segments it holds keys in. */
const EMPTY_LEAVES = packDigests(ALL_LEAVES.map(() => EMPTY_DIGEST));

/**
 * Differing segments from which it pays to ask whether the peer holds anything in them (one
 * more small round trip, against listing every key of the partition both ways).
 */
const PROBE_LEAVES = 8;

/** Records per `ae-push` at most, and their bytes: a push stays well under any frame limit. */
const PUSH_RECORDS = 4096;
const PUSH_BYTES = 4 * 1024 * 1024;

type MutableReport = { -readonly [K in keyof SyncReport]: SyncReport[K] };

/** A key and a payload (digest or record bytes) on the wire. */
export type KeyedBytes = readonly [key: Uint8Array, bytes: Uint8Array];

/** A stored entry of a scanned range: its key and its stored record. */
interface Scanned {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
}

export interface AntiEntropyDeps {
  readonly storage: Storage;
  readonly trees: HashTrees;
  readonly replicas: ReplicaStore;
  readonly partitions: number;
  send(member: string, message: Message, timeoutMs: number): Promise<Message>;
  readonly timeoutMs: number;
}

export class AntiEntropy {
  readonly #deps: AntiEntropyDeps;

  constructor(deps: AntiEntropyDeps) {
    this.#deps = deps;
  }

  /**
   * One exchange with `peer` over `partitions` (those both replicate). With `pushOnly`
   * (a handoff to a new owner) only the peer is brought up to date: what it holds that we
   * lack is not copied here, where it does not belong.
   */
  async exchange(peer: string, partitions: readonly number[], options: { pushOnly?: boolean } = {}): Promise<SyncReport> {
    const deps = this.#deps;
    const report: MutableReport = { peer, rangesCompared: partitions.length, keysDiffering: 0, keysSent: 0, keysReceived: 0, bytesSent: 0 };
    const roots = packDigests(partitions.map((p) => deps.trees.root(p)));
    report.bytesSent += roots.length + partitions.length * 3;
    const differ = indices(await deps.send(peer, { type: 'ae-roots', partitions: [...partitions], roots }, deps.timeoutMs), partitions.length);
    // Partitions are independent: several in flight hide the round trips of each.
    let next = 0;
    const worker = async () => {
      while (next < differ.length) await this.#exchangePartition(peer, partitions[differ[next++]!]!, report, options.pushOnly === true);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTITIONS, differ.length) }, worker));
    return report;
  }

  async #exchangePartition(peer: string, partition: number, report: MutableReport, pushOnly: boolean): Promise<void> {
    const deps = this.#deps;
    const pusher = new Pusher((records) => deps.send(peer, { type: 'ae-push', records }, deps.timeoutMs), report);
    let differing: readonly number[];
    let ours: Scanned[] | undefined;
    if (deps.trees.isEmpty(partition)) {
      // Nothing here to push: a handoff is done.
      if (pushOnly) return;
      // Nothing here (a wiped or new replica): every segment the peer holds differs, so
      // skip comparing leaves and ask for the whole partition at once.
      differing = ALL_LEAVES;
      ours = [];
    } else {
      const leaves = deps.trees.leaves(partition);
      report.bytesSent += leaves.length;
      differing = indices(await deps.send(peer, { type: 'ae-leaves', partition, leaves }, deps.timeoutMs), LEAVES);
      if (differing.length === 0) return;
      if (differing.length >= PROBE_LEAVES && coversHeld(differing, leaves)) {
        // Every segment we hold keys in differs, as when the peer is new or wiped here. Its
        // segments that differ from empty ones are those it holds anything in; where it
        // holds nothing, our records go at once, without listing keys both ways.
        report.bytesSent += EMPTY_LEAVES.length;
        const held = new Set(indices(await deps.send(peer, { type: 'ae-leaves', partition, leaves: EMPTY_LEAVES }, deps.timeoutMs), LEAVES));
        const bare = differing.filter((leaf) => !held.has(leaf));
        if (bare.length > 0) {
          const records = await this.#scan(partition, bare);
          report.keysDiffering += records.length;
          for (const { key, record } of records) await pusher.add(key, record);
          differing = differing.filter((leaf) => held.has(leaf));
        }
      }
    }
    if (differing.length > 0) {
      ours ??= await this.#scan(partition, differing);
      await this.#listKeys(peer, partition, differing, ours, report, pushOnly, pusher);
    }
    await pusher.flush();
  }

  /**
   * Lists our keys of `leaves` with their digests to the peer (`ae-keys`), merges the
   * records it answers with, and hands the records it wants to `pusher`.
   */
  async #listKeys(
    peer: string,
    partition: number,
    leaves: readonly number[],
    ours: readonly Scanned[],
    report: MutableReport,
    pushOnly: boolean,
    pusher: Pusher,
  ): Promise<void> {
    const deps = this.#deps;
    const entries: KeyedBytes[] = new Array(ours.length);
    for (let i = 0; i < ours.length; i++) {
      const { key, record } = ours[i]!;
      entries[i] = [key, digestBytes(entryDigest(key, record))];
      report.bytesSent += key.length + 8;
    }
    const answer = await deps.send(peer, { type: 'ae-keys', partition, leaves, entries }, deps.timeoutMs);
    const { records, want } = parseRecords(answer);
    report.keysDiffering += unionSize(records, want);
    if (!pushOnly) {
      report.keysReceived += records.length;
      await this.accept(records);
    }
    if (want.length === 0) return;
    // Ship what we listed, as it was when listed: the digest the peer compared was of it.
    // The peer names the keys it wants in the order we listed them, so one walk finds them.
    // Past the first key out of that order, a Map takes over.
    let at = 0;
    let listed: Map<string, Uint8Array> | undefined;
    const find = (key: Uint8Array): Uint8Array | undefined => {
      if (listed === undefined) {
        for (let i = at; i < ours.length; i++) {
          if (sameBytes(ours[i]!.key, key)) {
            at = i + 1;
            return ours[i]!.record;
          }
        }
        listed = new Map();
        for (const entry of ours) listed.set(keyId(entry.key), entry.record);
      }
      return listed.get(keyId(key));
    };
    for (const key of want) {
      const bytes = find(key) ?? (await deps.replicas.readEncoded(key));
      if (bytes !== undefined) await pusher.add(key, bytes);
    }
  }

  /** Answers `ae-roots`: the indices of the partitions whose roots differ from ours. */
  compareRoots(partitions: readonly number[], roots: Uint8Array): Message {
    return { type: 'ae-differ', indices: differingIndices(packDigests(partitions.map((p) => this.#deps.trees.root(p))), roots) };
  }

  /** Answers `ae-leaves`: the segments of `partition` whose digests differ from ours. */
  compareLeaves(partition: number, leaves: Uint8Array): Message {
    return { type: 'ae-differ', indices: differingIndices(this.#deps.trees.leaves(partition), leaves) };
  }

  /** Answers `ae-keys`: our records the peer lacks or holds differently, and the keys we want. */
  async compareKeys(partition: number, leaves: readonly number[], theirs: readonly KeyedBytes[]): Promise<Message> {
    const ours = this.#deps.trees.isEmpty(partition) ? [] : await this.#scan(partition, leaves);
    const records: KeyedBytes[] = [];
    const want: Uint8Array[] = [];
    if (theirs.length === 0) {
      // The peer has nothing here: everything we hold goes, no digest needed.
      for (const { key, record } of ours) if (record.length > 0) records.push([key, record]);
      return { type: 'ae-records', records, want };
    }
    const byId = new Map<string, Scanned>();
    for (const entry of ours) byId.set(keyId(entry.key), entry);
    for (const [key, digest] of theirs) {
      const id = keyId(key);
      const mine = byId.get(id);
      if (mine === undefined) {
        want.push(key);
        continue;
      }
      byId.delete(id);
      if (sameDigest(entryDigest(mine.key, mine.record), digest)) continue;
      want.push(key);
      if (mine.record.length > 0) records.push([mine.key, mine.record]);
    }
    for (const { key, record } of byId.values()) if (record.length > 0) records.push([key, record]);
    return { type: 'ae-records', records, want };
  }

  /** Merges records a peer sent (each key under its own lock, so all at once). */
  async accept(records: readonly KeyedBytes[]): Promise<void> {
    const replicas = this.#deps.replicas;
    const merges = new Array<Promise<unknown>>(records.length);
    for (let i = 0; i < records.length; i++) {
      const [key, bytes] = records[i]!;
      merges[i] = replicas.merge(key, decodeVersions(bytes, { copy: false }), bytes);
    }
    await Promise.all(merges);
  }

  /** The keys of some segments of a partition with their stored records, in one scan when they are all asked for. */
  async #scan(partition: number, leaves: readonly number[]): Promise<Scanned[]> {
    const out: Scanned[] = [];
    // Every segment differs when one side is empty (a wiped or new replica): one scan.
    const ranges =
      leaves.length === LEAVES
        ? [partitionRange(partition, this.#deps.partitions)]
        : leaves.map((leaf) => leafRange(partition, leaf, this.#deps.partitions));
    for (const range of ranges) {
      for await (const [storageKey, record] of this.#deps.storage.iterate(DATA_SPACE, range)) {
        out.push({ key: keyView(storageKey), record });
      }
    }
    return out;
  }
}

/** Collects the records to ship to a peer and sends them in `ae-push` batches of bounded size. */
class Pusher {
  readonly #send: (records: KeyedBytes[]) => Promise<unknown>;
  readonly #report: MutableReport;
  #records: KeyedBytes[] = [];
  #bytes = 0;

  constructor(send: (records: KeyedBytes[]) => Promise<unknown>, report: MutableReport) {
    this.#send = send;
    this.#report = report;
  }

  async add(key: Uint8Array, record: Uint8Array): Promise<void> {
    this.#records.push([key, record]);
    this.#bytes += key.length + record.length;
    this.#report.keysSent++;
    this.#report.bytesSent += key.length + record.length;
    if (this.#records.length >= PUSH_RECORDS || this.#bytes >= PUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#records.length === 0) return;
    const records = this.#records;
    this.#records = [];
    this.#bytes = 0;
    await this.#send(records);
  }
}

/** Whether `differing` names every segment whose digest in `leaves` (8 bytes each) is not empty. */
function coversHeld(differing: readonly number[], leaves: Uint8Array): boolean {
  const listed = new Uint8Array(LEAVES);
  for (const leaf of differing) listed[leaf] = 1;
  for (let leaf = 0; leaf < LEAVES; leaf++) {
    if (listed[leaf] === 1) continue;
    for (let j = leaf * 8; j < leaf * 8 + 8; j++) if (leaves[j] !== 0) return false;
  }
  return true;
}

/** How many distinct keys two lists name (a key held differently is in both). */
function unionSize(records: readonly KeyedBytes[], want: readonly Uint8Array[]): number {
  if (records.length === 0 || want.length === 0) return records.length + want.length;
  const wanted = new Set<string>();
  for (const key of want) wanted.add(keyId(key));
  let both = 0;
  for (const [key] of records) if (wanted.has(keyId(key))) both++;
  return records.length + want.length - both;
}

/** A digest as the 8 bytes `packDigests` writes for it. */
function digestBytes(d: Digest): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = d.hi >>> 24;
  out[1] = (d.hi >>> 16) & 0xff;
  out[2] = (d.hi >>> 8) & 0xff;
  out[3] = d.hi & 0xff;
  out[4] = d.lo >>> 24;
  out[5] = (d.lo >>> 16) & 0xff;
  out[6] = (d.lo >>> 8) & 0xff;
  out[7] = d.lo & 0xff;
  return out;
}

/** Whether `bytes` is exactly the 8-byte wire form of `d`. */
function sameDigest(d: Digest, bytes: Uint8Array): boolean {
  if (bytes.length !== 8) return false;
  const hi = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const lo = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
  return hi === d.hi && lo === d.lo;
}

function indices(reply: Message, limit: number): number[] {
  const list = (reply as { indices?: unknown }).indices;
  if (reply.type !== 'ae-differ' || !Array.isArray(list) || list.some((i) => !Number.isInteger(i) || i < 0 || i >= limit)) {
    throw new ValidationError('malformed anti-entropy reply');
  }
  return list as number[];
}

function parseRecords(reply: Message): { records: KeyedBytes[]; want: Uint8Array[] } {
  const { records, want } = reply as { records?: unknown; want?: unknown };
  if (reply.type !== 'ae-records' || !isKeyedList(records) || !Array.isArray(want) || !want.every((k) => k instanceof Uint8Array)) {
    throw new ValidationError('malformed anti-entropy reply');
  }
  return { records, want: want as Uint8Array[] };
}

/** Whether `value` is a list of [bytes, bytes] pairs. */
export function isKeyedList(value: unknown): value is KeyedBytes[] {
  return (
    Array.isArray(value) &&
    value.every((e) => Array.isArray(e) && e.length === 2 && e[0] instanceof Uint8Array && e[1] instanceof Uint8Array)
  );
}

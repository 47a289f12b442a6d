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
import { entryDigest } from './merkle-tree.js';
import { LEAF_BITS, leafRange, parseDataKey, partitionRange } from './layout.js';
import { differingIndices, packDigests, type HashTrees } from './trees.js';

/** Partitions exchanged at once with one peer. */
const PARALLEL_PARTITIONS = 16;

type MutableReport = { -readonly [K in keyof SyncReport]: SyncReport[K] };

/** A key and a payload (digest or record bytes) on the wire. */
export type KeyedBytes = readonly [key: Uint8Array, bytes: Uint8Array];

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
    const leaves = deps.trees.leaves(partition);
    report.bytesSent += leaves.length;
    const reply = await deps.send(peer, { type: 'ae-leaves', partition, leaves }, deps.timeoutMs);
    const differingLeaves = indices(reply, leaves.length / 8);
    if (differingLeaves.length === 0) return;
    const entries = await this.#entries(partition, differingLeaves);
    report.bytesSent += entries.reduce((n, [k, d]) => n + k.length + d.length, 0);
    const answer = await deps.send(peer, { type: 'ae-keys', partition, leaves: differingLeaves, entries }, deps.timeoutMs);
    const { records, want } = parseRecords(answer);
    report.keysDiffering += new Set([...records.map(([k]) => keyId(k)), ...want.map(keyId)]).size;
    if (!pushOnly) {
      report.keysReceived += records.length;
      await this.accept(records);
    }
    if (want.length === 0) return;
    const push: KeyedBytes[] = [];
    for (const key of want) {
      const bytes = await deps.replicas.readEncoded(key);
      if (bytes !== undefined) push.push([key, bytes]);
    }
    report.keysSent += push.length;
    report.bytesSent += push.reduce((n, [k, b]) => n + k.length + b.length, 0);
    await deps.send(peer, { type: 'ae-push', records: push }, deps.timeoutMs);
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
    const ours = new Map((await this.#entries(partition, leaves)).map(([k, d]) => [keyId(k), [k, d] as const]));
    const records: KeyedBytes[] = [];
    const want: Uint8Array[] = [];
    for (const [key, digest] of theirs) {
      const mine = ours.get(keyId(key));
      ours.delete(keyId(key));
      if (mine !== undefined && Buffer.compare(mine[1], digest) === 0) continue;
      want.push(key);
      if (mine !== undefined) records.push(await this.#record(key));
    }
    for (const [key] of ours.values()) records.push(await this.#record(key));
    return { type: 'ae-records', records: records.filter(([, b]) => b.length > 0), want };
  }

  /** Merges records a peer sent (each key under its own lock, so all at once). */
  async accept(records: readonly KeyedBytes[]): Promise<void> {
    await Promise.all(records.map(([key, bytes]) => this.#deps.replicas.merge(key, decodeVersions(bytes), bytes)));
  }

  async #record(key: Uint8Array): Promise<KeyedBytes> {
    return [key, (await this.#deps.replicas.readEncoded(key)) ?? new Uint8Array(0)];
  }

  /** The keys of some segments of a partition, with their entry digests. */
  async #entries(partition: number, leaves: readonly number[]): Promise<KeyedBytes[]> {
    const out: KeyedBytes[] = [];
    // Every segment differs when one side is empty (a wiped or new replica): one scan.
    const ranges =
      leaves.length === 1 << LEAF_BITS
        ? [partitionRange(partition, this.#deps.partitions)]
        : leaves.map((leaf) => leafRange(partition, leaf, this.#deps.partitions));
    for (const range of ranges) {
      for await (const [storageKey, value] of this.#deps.storage.iterate(DATA_SPACE, range)) {
        const { key } = parseDataKey(storageKey);
        out.push([key, packDigests([entryDigest(key, value)])]);
      }
    }
    return out;
  }
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

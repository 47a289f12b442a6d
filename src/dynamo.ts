/**
 * The `Dynamo` class: one member of a cluster, embedded in the caller's process. It owns the
 * lifecycle (start, stop) and the public get/put/delete façade; the work is done by the
 * coordinator, the replica store and membership, each given only what it needs.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { resolveConfig, resolveRequest, type DynamoOptions, type RequestOptions, type ResolvedConfig } from './config.js';
import { DynamoError, TimeoutError, ValidationError } from './errors.js';
import type { DynamoEvents, SyncReport } from './events.js';
import { decodeStored, encodeValue, keyBytes, stampValue, type Key } from './keys.js';
import { HybridClock } from './time/hybrid-clock.js';
import { hashKey } from './ring/hash.js';
import { partitionOfHash } from './ring/ring.js';
import { printableKey, silentLogger, type Logger } from './logger.js';
import { settleSiblings, UNSETTLED } from './resolve/settle.js';
import type { SiblingInfo } from './resolve/resolvers.js';
import type { CausalContext } from './versioning/dvvset.js';
import { Metrics, type MetricsSnapshot, type OperationName } from './metrics/metrics.js';
import type { MemberInfo } from './membership/member-table.js';
import type { Versions } from './replica/replica-store.js';
import { assembleMember, type MemberParts } from './member/assemble.js';
import { EMPTY_CONTEXT } from './versioning/dvvset.js';
import { decodeContext, encodeContext } from './versioning/context.js';
import type { MessageLimits } from './protocol/messages.js';
import { MemoryStorage } from './storage/memory.js';
import type { Storage } from './storage/storage.js';
import type { Message, Transport } from './transport/transport.js';
import { systemClock, type Clock } from './time/clock.js';
import type { Random } from './time/random.js';

/** What `get` and `readLocal` return. */
export interface GetResult<T> {
  /** Every causally concurrent value (siblings); `[]` when the key is absent or deleted. */
  readonly values: T[];
  /** Opaque summary of the versions seen; pass it to the next put or delete of the key. */
  readonly context: string;
}

/** What `put` and `delete` return. */
export interface PutResult {
  /** Covers what the request's context covered plus the version just written. */
  readonly context: string;
}

/** What `ring()` returns. */
export interface RingInfo {
  /** Q, the number of equal partitions of the hash space. */
  readonly partitions: number;
  /** `owners[p]`: the id of the member that owns partition `p` (the first of its preference lists). */
  readonly owners: readonly string[];
  /** A digest of the ring: members that agree on the ring have the same checksum. */
  readonly checksum: string;
}

/** What `placement(key)` returns. */
export interface Placement {
  /** The key's 32-bit ring position (the first 32 bits of its MurmurHash3 x64 128-bit hash). */
  readonly position: number;
  /** The partition the position falls in: its top log2(Q) bits. */
  readonly partition: number;
  /** The N members holding its replicas, in ring order (its preference list). */
  readonly owners: readonly string[];
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One member of a libdynamo cluster. See the package README for a tour.
 * @example
 * ```ts
 * const net = new InMemoryNetwork();
 * const a = new Dynamo({ transport: net.transport('a'), seeds: ['a', 'b', 'c'] });
 * await a.start();
 * const { context } = await a.put('cart:alice', ['book']);
 * ```
 */
export class Dynamo extends EventEmitter<DynamoEvents> {
  /** This member's id. */
  readonly id: string;
  readonly #config: ResolvedConfig;
  readonly #transport: Transport;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #metrics = new Metrics();
  /** Timestamps of this member's writes, for last-write-wins among siblings. */
  readonly #hlc: HybridClock;
  readonly #limits: MessageLimits;
  /** Background work (read repair, replication past W) not yet settled; `stop()` waits for it. */
  #background = 0;
  /** Wakes `stop()` once `#background` drops to zero. */
  #drained: (() => void) | undefined;
  /** Settles one piece of background work (shared: no closure per `#track`). */
  readonly #settled = (): void => {
    if (--this.#background === 0) this.#drained?.();
  };
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #parts: MemberParts | undefined;

  /** Validates `options` (throwing `ValidationError`); nothing runs until `start()`. */
  constructor(options: DynamoOptions) {
    super();
    this.#config = resolveConfig(options);
    this.id = this.#config.id;
    this.#transport = options.transport;
    this.#storage = options.storage ?? new MemoryStorage();
    this.#clock = options.clock ?? systemClock;
    this.#hlc = new HybridClock(this.#clock);
    if (this.#config.logger !== silentLogger) logEvents(this, this.#config.logger);
    this.#random = options.random ?? Math.random;
    // A record may hold many siblings of the largest value, so accept well past one value.
    this.#limits = { maxKeyBytes: this.#config.maxKeyBytes, maxRecordBytes: this.#config.maxValueBytes * 128 };
  }

  /** Opens storage, starts serving, joins through the seeds and starts gossip. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(new DynamoError('CLOSED', 'a stopped member cannot start again: create a new Dynamo'));
    }
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const config = this.#config;
    await this.#storage.open();
    try {
      // Listen first: a transport may learn its address only then (TCP on port 0), and the
      // member advertises that address. Until the member runs, requests get NOT_STARTED.
      await this.#transport.listen((message) => this.#running().handle(message));
      const parts = await assembleMember({
        config,
        storage: this.#storage,
        transport: this.#transport,
        clock: this.#clock,
        random: this.#random,
        metrics: this.#metrics,
        limits: this.#limits,
        emit: (event, ...args) => (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args),
        send: (member, message, timeoutMs) => this.#send(member, message, timeoutMs),
        track: (work) => this.#track(work),
        running: () => this.#state === 'running',
        storedValue: (value) => this.#storedValue(value),
      });
      this.#parts = parts;
      const { membership } = parts;
      this.#state = 'running';
      await membership.join(config.seeds, Math.min(config.timeoutMs, 2000));
      membership.start();
      parts.delivery.start();
      parts.maintenance.start();
      config.logger.info({ member: this.id, address: this.#transport.address, seeds: config.seeds }, 'member started');
    } catch (error) {
      this.#state = 'stopping';
      await this.#transport.close().catch(() => {});
      await this.#storage.close().catch(() => {});
      this.#state = 'stopped';
      throw error;
    }
  }

  /**
   * Stops gossip and serving, waits for writes in flight, closes the transport and storage.
   * Every write acknowledged before is already in storage on W replicas.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return;
    }
    await this.#starting?.catch(() => {});
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#parts?.membership.stop();
    this.#parts?.delivery.stop();
    this.#parts?.maintenance.stop();
    await this.#transport.close();
    while (this.#background > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#drained = undefined;
    await this.#storage.close();
    this.#state = 'stopped';
    this.#config.logger.info({ member: this.id }, 'member stopped');
  }

  /** Reads R replicas of `key`: every concurrent value, and the context to write with. */
  async get<T = unknown>(key: Key, options?: RequestOptions): Promise<GetResult<T>> {
    const { coordinator } = this.#running();
    const bytes = keyBytes(key, this.#config.maxKeyBytes);
    const quorum = resolveRequest(this.#config, options);
    const versions = await this.#measure('get', coordinator.get(bytes, quorum));
    const read = present<T>(versions);
    for (const { writtenAt } of read.info) this.#hlc.observe(writtenAt);
    if (read.values.length < 2) return { values: read.values, context: read.context };
    const settled = settleSiblings(read.values, read.info, options?.resolve ?? this.#config.resolve, this.#config.mergeCrdts);
    if (settled === UNSETTLED) return { values: read.values, context: read.context };
    return { values: [settled], context: await this.#writeBack(bytes, settled, versions!.context, quorum) };
  }

  /** `value` as a replica stores it: encoded, size-checked and stamped with this write's time. */
  #storedValue(value: unknown): Uint8Array {
    return stampValue(encodeValue(value, this.#config.maxValueBytes), this.#hlc.now());
  }

  /**
   * Writes a merge of siblings back with the context of the read that found them, so no
   * later reader sees them. The merge is returned however this goes: should the write fail,
   * the read's context still supersedes every sibling the merge came from.
   */
  async #writeBack<T>(key: Uint8Array, value: T, seen: CausalContext, quorum: ReturnType<typeof resolveRequest>): Promise<string> {
    const { coordinator } = this.#running();
    const encoded = this.#storedValue(value);
    try {
      return encodeContext(await coordinator.put(key, encoded, seen, quorum));
    } catch {
      return encodeContext(seen);
    }
  }

  /**
   * Writes `value`. With `options.context` (from an earlier get) it supersedes exactly the
   * versions that context covers; without, it is concurrent with everything stored.
   */
  put<T = unknown>(key: Key, value: T, options?: RequestOptions): Promise<PutResult> {
    // Not an async function (one promise and frame fewer per put); a bad argument still
    // rejects rather than throws.
    try {
      const { coordinator } = this.#running();
      const bytes = keyBytes(key, this.#config.maxKeyBytes);
      const quorum = resolveRequest(this.#config, options);
      const context = options?.context === undefined ? EMPTY_CONTEXT : decodeContext(options.context);
      const encoded = this.#storedValue(value);
      return this.#measure('put', coordinator.put(bytes, encoded, context, quorum)).then(toPutResult);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes a tombstone superseding what `options.context` covers. Without a context it
   * supersedes nothing: pass the context of a get to delete what that get saw.
   */
  async delete(key: Key, options?: RequestOptions): Promise<PutResult> {
    const { coordinator } = this.#running();
    const bytes = keyBytes(key, this.#config.maxKeyBytes);
    const quorum = resolveRequest(this.#config, options);
    const context = options?.context === undefined ? EMPTY_CONTEXT : decodeContext(options.context);
    const written = await this.#measure('delete', coordinator.put(bytes, null, context, quorum));
    return { context: encodeContext(written) };
  }

  /**
   * Read-modify-write: reads the siblings, lets `fn` merge them into one value, writes it
   * with the read's context (so it supersedes every sibling it saw).
   */
  async update<T = unknown>(key: Key, fn: (siblings: T[]) => T, options?: RequestOptions): Promise<PutResult> {
    const { context: _ignored, ...rest } = options ?? {};
    const { values, context } = await this.get<T>(key, rest);
    return this.put(key, fn(values), { ...rest, context });
  }

  /** The ids of the N members that own `key`, in ring order (whether up or not). */
  preferenceList(key: Key): string[] {
    const bytes = keyBytes(key, this.#config.maxKeyBytes);
    return this.#parts?.membership.ring.preferenceList(bytes, this.#config.n) ?? [];
  }

  /**
   * The ring as this member sees it: Q, the owner of each partition (`owners[p]`; `[]`
   * before `start()`), and the ring's checksum (equal on members that agree on the ring).
   */
  ring(): RingInfo {
    const ring = this.#parts?.membership.ring;
    if (ring === undefined) return { partitions: this.#config.partitions, owners: [], checksum: '' };
    const owners = new Array<string>(ring.partitions);
    for (let p = 0; p < ring.partitions; p++) owners[p] = ring.owner(p);
    return { partitions: ring.partitions, owners, checksum: ring.checksum };
  }

  /** Where `key` lives: its 32-bit ring position, its partition, and its preference list. */
  placement(key: Key): Placement {
    const bytes = keyBytes(key, this.#config.maxKeyBytes);
    const position = hashKey(bytes);
    return { position, partition: partitionOfHash(position, this.#config.partitions), owners: this.preferenceList(bytes) };
  }

  /** Every member this one knows of, itself included. */
  members(): MemberInfo[] {
    const membership = this.#parts?.membership;
    return membership?.current().map((m) => membership.info(m)) ?? [];
  }

  /**
   * This member's own copy of `key` without any quorum (debugging and tests): its replica,
   * merged with any copy it holds as a stand-in for an owner.
   */
  async readLocal<T = unknown>(key: Key): Promise<GetResult<T> | undefined> {
    const versions = await this.#running().coordinator.readLocal(keyBytes(key, this.#config.maxKeyBytes));
    if (versions === undefined) return undefined;
    const { values, context } = present<T>(versions);
    return { values, context };
  }

  /** Hints this member holds for others (copies it keeps for owners that were unreachable). */
  async hintsPending(): Promise<number> {
    return this.#parts?.hints.size ?? 0;
  }

  /**
   * One anti-entropy round now: with `peerId`, over the partitions this member and that
   * peer both replicate; without, with every member it shares partitions with. Resolves
   * with what was compared and moved (summed over peers) once every exchange finished.
   */
  async sync(peerId?: string): Promise<SyncReport> {
    const { membership, ownership } = this.#running();
    if (peerId !== undefined && membership.table.get(peerId) === undefined) {
      throw new ValidationError(`no member ${JSON.stringify(peerId)} to sync with`);
    }
    return ownership.sync(peerId);
  }

  /**
   * Leaves the cluster for good: announces `leaving` (the ring stops counting this member),
   * hands every partition it holds to the new owners and its hints to their owners, tells
   * its peers it has `left`, then stops. Rejects with `TimeoutError` if the handover cannot
   * finish within `timeoutMs` (e.g. owners unreachable); the member keeps running then.
   */
  async leave(timeoutMs = 60_000): Promise<void> {
    const { membership, delivery, ownership, hints } = this.#running();
    membership.announce('leaving');
    await membership.spread(3);
    const deadline = this.#clock.now() + timeoutMs;
    for (;;) {
      await delivery.deliverAll();
      const held = await ownership.handOff();
      if (held === 0 && hints.size === 0) break;
      if (this.#clock.now() > deadline) {
        throw new TimeoutError(`leave: ${held} partitions and ${hints.size} hints not handed over within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, this.#config.gossipIntervalMs));
    }
    membership.announce('left');
    await membership.spread(3);
    await this.stop();
  }

  /**
   * An operator's removal of a dead member for good: the cluster stops counting it, and its
   * partitions are re-replicated from the surviving owners to reach N copies again.
   */
  async remove(id: string): Promise<void> {
    const { membership, ownership } = this.#running();
    membership.remove(id);
    await membership.spread(3);
    await ownership.ringChanged();
  }

  /**
   * Collects now the deleted keys whose grace has passed and whose owners all hold the same
   * tombstones (also done after every periodic anti-entropy round). Resolves with how many.
   */
  async collectTombstones(): Promise<number> {
    return this.#running().tombstones.collect();
  }

  /** Counters and latency percentiles. */
  metrics(): MetricsSnapshot {
    return this.#metrics.snapshot();
  }

  #running(): MemberParts {
    if (this.#state !== 'running' || this.#parts === undefined) {
      throw new DynamoError('NOT_STARTED', `member ${this.id} is ${this.#state}: call start() first`);
    }
    return this.#parts;
  }

  /** `work`, its latency and outcome recorded as a client `op`. */
  #measure<T>(op: OperationName, work: Promise<T>): Promise<T> {
    const started = this.#clock.now();
    return work.then(
      (result) => {
        this.#metrics.observe(op, this.#clock.now() - started, true);
        return result;
      },
      (error: unknown) => {
        this.#metrics.observe(op, this.#clock.now() - started, false);
        throw error;
      },
    );
  }

  #send(member: string, message: Message, timeoutMs: number): Promise<Message> {
    const address = this.#parts?.membership.table.get(member)?.address ?? member;
    return this.#transport.request(address, message, { timeoutMs }).catch((error: unknown) => {
      // A refusal is proof nobody listens there: no need to wait for the detector.
      if (error instanceof DynamoError && error.code === 'UNREACHABLE') this.#parts?.membership.reportUnreachable(member);
      throw error;
    });
  }

  #track(work: Promise<unknown>): void {
    this.#background++;
    work.then(this.#settled, this.#settled);
  }
}

/** The live values of `versions` (tombstones left out), what is known of each, and the context. */
function present<T>(versions: Versions | undefined): { values: T[]; info: SiblingInfo[]; context: string } {
  if (versions === undefined) return { values: [], info: [], context: encodeContext(EMPTY_CONTEXT) };
  const values: T[] = [];
  const info: SiblingInfo[] = [];
  for (const { dot, value } of versions.values) {
    if (value === null) continue;
    const stored = decodeStored<T>(value);
    values.push(stored.value);
    info.push({ writtenAt: stored.writtenAt, actor: dot.actor });
  }
  return { values, info, context: encodeContext(versions.context) };
}

/** Reports `dynamo`'s events to `logger` at the levels src/logger.ts lists. */
function logEvents(dynamo: Dynamo, logger: Logger): void {
  const member = dynamo.id;
  const debug = (fields: object, message: string) => logger.debug?.({ member, ...fields }, message);
  dynamo.on('member:up', (m) => logger.info({ member, peer: m.id, address: m.address }, 'member up'));
  dynamo.on('member:joined', (m) => logger.info({ member, peer: m.id, address: m.address }, 'member joined'));
  dynamo.on('member:left', (m) => logger.info({ member, peer: m.id }, 'member left'));
  dynamo.on('member:down', (m) => logger.warn({ member, peer: m.id, address: m.address }, 'member believed down'));
  dynamo.on('hint:dropped', (e) => logger.warn({ member, key: printableKey(e.key), target: e.target }, 'hint dropped'));
  dynamo.on('conflict', (e) => {
    if (e.overWarning) logger.warn({ member, key: printableKey(e.key), siblings: e.siblings }, 'many siblings: are writers passing their context?');
    else debug({ key: printableKey(e.key), siblings: e.siblings }, 'siblings read');
  });
  dynamo.on('hint:stored', (e) => debug({ key: printableKey(e.key), target: e.target }, 'hint stored'));
  dynamo.on('hint:delivered', (e) => debug({ key: printableKey(e.key), target: e.target }, 'hint delivered'));
  dynamo.on('repair', (e) => debug({ key: printableKey(e.key), replicas: e.replicas }, 'read repair'));
  dynamo.on('ring:changed', (e) => debug({ checksum: e.checksum, members: e.members }, 'ring changed'));
  dynamo.on('sync', (report) => debug({ ...report }, 'anti-entropy round'));
}

function toPutResult(written: CausalContext): PutResult {
  return { context: encodeContext(written) };
}

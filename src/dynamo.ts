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
import { decodeValue, encodeValue, keyBytes, type Key } from './keys.js';
import { Metrics, type MetricsSnapshot, type OperationName } from './metrics/metrics.js';
import type { MemberInfo } from './membership/member-table.js';
import { Membership } from './membership/membership.js';
import { Coordinator } from './coordinator/coordinator.js';
import { DATA_SPACE, ReplicaStore, type Versions } from './replica/replica-store.js';
import { DotCounter, loadIdentity } from './replica/identity.js';
import { HintStore } from './handoff/hint-store.js';
import { HintDelivery } from './handoff/hint-delivery.js';
import { EMPTY_CONTEXT, valuesOf } from './versioning/dvvset.js';
import { decodeContext, encodeContext } from './versioning/context.js';
import type { MessageLimits } from './protocol/messages.js';
import { createRequestHandler } from './protocol/request-handler.js';
import { HashTrees } from './anti-entropy/trees.js';
import { AntiEntropy } from './anti-entropy/exchange.js';
import { dataKey } from './anti-entropy/layout.js';
import { Periodic } from './time/periodic.js';
import { Ownership } from './handoff/ownership.js';
import { TombstoneCollector } from './anti-entropy/tombstones.js';
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
  readonly #limits: MessageLimits;
  readonly #background = new Set<Promise<unknown>>();
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #membership: Membership | undefined;
  #coordinator: Coordinator | undefined;
  #hints: HintStore | undefined;
  #delivery: HintDelivery | undefined;
  #antiEntropy: AntiEntropy | undefined;
  #ownership: Ownership | undefined;
  #tombstones: TombstoneCollector | undefined;
  #ringWork: Promise<void> = Promise.resolve();
  #antiEntropyRounds: Periodic | undefined;

  /** Validates `options` (throwing `ValidationError`); nothing runs until `start()`. */
  constructor(options: DynamoOptions) {
    super();
    this.#config = resolveConfig(options);
    this.id = this.#config.id;
    this.#transport = options.transport;
    this.#storage = options.storage ?? new MemoryStorage();
    this.#clock = options.clock ?? systemClock;
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
      const identity = await loadIdentity(this.#storage, config.id, this.#random);
      const counter = await DotCounter.load(this.#storage);
      const trees = new HashTrees(config.partitions);
      const replicas = new ReplicaStore(this.#storage, DATA_SPACE, counter, {
        storageKey: (key) => dataKey(key),
        onChange: (storageKey, before, after, set) => {
          trees.change(storageKey, before, after);
          tombstones.observe(storageKey, after, set);
        },
      });
      const tombstones = new TombstoneCollector({
        self: config.id,
        clock: this.#clock,
        graceMs: config.tombstoneGraceMs,
        timeoutMs: config.timeoutMs,
        replicas,
        owners: (key) => this.#membership!.ring.preferenceList(key, config.n),
        isUp: (id) => this.#membership!.isUp(id),
        send: (member, message, timeoutMs) => this.#send(member, message, timeoutMs),
        onCollected: () => this.#metrics.increment('tombstones_collected'),
      });
      this.#tombstones = tombstones;
      for await (const [storageKey, value] of this.#storage.iterate(DATA_SPACE)) {
        trees.change(storageKey, undefined, value);
        tombstones.observe(storageKey, value);
      }
      const hints = new HintStore({
        storage: this.#storage,
        counter,
        clock: this.#clock,
        maxHints: config.maxHints,
        onDropped: (entry) => {
          this.#metrics.increment('hints_dropped');
          this.emit('hint:dropped', { key: entry.key, target: entry.target });
        },
      });
      await hints.load();
      const membership = new Membership({
        self: {
          id: config.id,
          address: this.#transport.address,
          vnodes: config.vnodes,
          status: 'up',
          incarnation: identity.incarnation,
          heartbeat: 0,
        },
        partitions: config.partitions,
        n: config.n,
        gossipIntervalMs: config.gossipIntervalMs,
        phiThreshold: config.phiThreshold,
        clock: this.#clock,
        random: this.#random,
        request: (address, message, timeoutMs) => this.#transport.request(address, message, { timeoutMs }),
        onJoined: (member) => this.emit('member:joined', member),
        onUp: (member) => {
          this.emit('member:up', member);
          void this.#delivery?.deliver(member.id);
        },
        onDown: (member) => {
          this.#metrics.increment('members_suspected');
          this.emit('member:down', member);
        },
        onLeft: (member) => this.emit('member:left', member),
        onRingChanged: (ring) => {
          this.emit('ring:changed', { checksum: ring.checksum, members: ring.memberIds });
          // One pass at a time; each pass looks at the ring as it is when it runs.
          if (this.#state === 'running') {
            this.#ringWork = this.#ringWork.then(() => this.#ownership?.ringChanged()).catch(() => {});
            this.#track(this.#ringWork);
          }
        },
      });
      const send = (member: string, message: Message, timeoutMs: number) => this.#send(member, message, timeoutMs);
      const track = (work: Promise<unknown>) => this.#track(work);
      this.#hints = hints;
      this.#membership = membership;
      this.#coordinator = new Coordinator({
        self: config.id,
        actor: identity.actor,
        n: config.n,
        clock: this.#clock,
        replicas,
        hints,
        metrics: this.#metrics,
        readRepair: config.readRepair,
        walk: (key) => {
          const ring = membership.ring;
          return ring.walk(ring.partitionOfKey(key), ring.size);
        },
        isUp: (id) => membership.isUp(id),
        send,
        track,
        onHintStored: (key, target) => {
          this.#metrics.increment('hints_stored');
          this.emit('hint:stored', { key, target });
        },
        onRepair: (key, replicas) => this.emit('repair', { key, replicas }),
        onConflict: (key, siblings) => this.emit('conflict', { key, siblings }),
      });
      this.#delivery = new HintDelivery({
        hints,
        clock: this.#clock,
        intervalMs: config.hintIntervalMs,
        maxAgeMs: config.maxHintAgeMs,
        timeoutMs: config.timeoutMs,
        concurrency: 32,
        isUp: (id) => membership.isUp(id),
        isMember: (id) => membership.table.get(id)?.status !== 'left',
        owners: (key) => membership.ring.preferenceList(key, config.n).filter((id) => id !== config.id),
        send,
        track,
        onDelivered: (entry) => {
          this.#metrics.increment('hints_delivered');
          this.emit('hint:delivered', { key: entry.key, target: entry.target });
        },
      });
      this.#antiEntropy = new AntiEntropy({ storage: this.#storage, trees, replicas, partitions: config.partitions, send, timeoutMs: config.timeoutMs });
      const handle = createRequestHandler({
        self: config.id,
        r: config.r,
        limits: this.#limits,
        metrics: this.#metrics,
        coordinator: this.#coordinator,
        replicas,
        hints,
        membership,
        antiEntropy: this.#antiEntropy,
        owners: (key) => membership.ring.preferenceList(key, config.n),
        onHintStored: (key, target) => {
          this.#metrics.increment('hints_stored');
          this.emit('hint:stored', { key, target });
        },
      });
      const ownership = new Ownership({
        self: config.id,
        n: config.n,
        storage: this.#storage,
        replicas,
        trees,
        antiEntropy: this.#antiEntropy,
        random: this.#random,
        ring: () => membership.ring,
        members: () => membership.current().map((m) => m.id),
        isUp: (id) => id === config.id || membership.isUp(id),
        onSync: (report) => {
          this.#metrics.increment('anti_entropy_keys_moved', report.keysSent + report.keysReceived);
          this.emit('sync', report);
        },
      });
      this.#ownership = ownership;
      this.#antiEntropyRounds = new Periodic(this.#clock, config.antiEntropyIntervalMs, async () => {
        await ownership.round();
        await tombstones.collect();
      });
      await this.#transport.listen((message) => {
        this.#running();
        return handle(message);
      });
      this.#state = 'running';
      await membership.join(config.seeds, Math.min(config.timeoutMs, 2000));
      membership.start();
      this.#delivery.start();
      this.#antiEntropyRounds.start();
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
    this.#membership?.stop();
    this.#delivery?.stop();
    this.#antiEntropyRounds?.stop();
    await this.#transport.close();
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    await this.#storage.close();
    this.#state = 'stopped';
  }

  /** Reads R replicas of `key`: every concurrent value, and the context to write with. */
  async get<T = unknown>(key: Key, options?: RequestOptions): Promise<GetResult<T>> {
    const coordinator = this.#running();
    const bytes = keyBytes(key, this.#config.maxKeyBytes);
    const quorum = resolveRequest(this.#config, options);
    const versions = await this.#measure('get', coordinator.get(bytes, quorum));
    return present<T>(versions);
  }

  /**
   * Writes `value`. With `options.context` (from an earlier get) it supersedes exactly the
   * versions that context covers; without, it is concurrent with everything stored.
   */
  async put<T = unknown>(key: Key, value: T, options?: RequestOptions): Promise<PutResult> {
    const coordinator = this.#running();
    const bytes = keyBytes(key, this.#config.maxKeyBytes);
    const quorum = resolveRequest(this.#config, options);
    const context = options?.context === undefined ? EMPTY_CONTEXT : decodeContext(options.context);
    const encoded = encodeValue(value, this.#config.maxValueBytes);
    const written = await this.#measure('put', coordinator.put(bytes, encoded, context, quorum));
    return { context: encodeContext(written) };
  }

  /**
   * Writes a tombstone superseding what `options.context` covers. Without a context it
   * supersedes nothing: pass the context of a get to delete what that get saw.
   */
  async delete(key: Key, options?: RequestOptions): Promise<PutResult> {
    const coordinator = this.#running();
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
    return this.#membership?.ring.preferenceList(bytes, this.#config.n) ?? [];
  }

  /** Every member this one knows of, itself included. */
  members(): MemberInfo[] {
    const membership = this.#membership;
    return membership?.current().map((m) => membership.info(m)) ?? [];
  }

  /**
   * This member's own copy of `key` without any quorum (debugging and tests): its replica,
   * merged with any copy it holds as a stand-in for an owner.
   */
  async readLocal<T = unknown>(key: Key): Promise<GetResult<T> | undefined> {
    const versions = await this.#running().readLocal(keyBytes(key, this.#config.maxKeyBytes));
    return versions === undefined ? undefined : present<T>(versions);
  }

  /** Hints this member holds for others (copies it keeps for owners that were unreachable). */
  async hintsPending(): Promise<number> {
    return this.#hints?.size ?? 0;
  }

  /**
   * One anti-entropy round now: with `peerId`, over the partitions this member and that
   * peer both replicate; without, with every member it shares partitions with. Resolves
   * with what was compared and moved (summed over peers) once every exchange finished.
   */
  async sync(peerId?: string): Promise<SyncReport> {
    this.#running();
    if (peerId !== undefined && this.#membership!.table.get(peerId) === undefined) {
      throw new ValidationError(`no member ${JSON.stringify(peerId)} to sync with`);
    }
    return this.#ownership!.sync(peerId);
  }

  /**
   * Leaves the cluster for good: announces `leaving` (the ring stops counting this member),
   * hands every partition it holds to the new owners and its hints to their owners, tells
   * its peers it has `left`, then stops. Rejects with `TimeoutError` if the handover cannot
   * finish within `timeoutMs` (e.g. owners unreachable); the member keeps running then.
   */
  async leave(timeoutMs = 60_000): Promise<void> {
    this.#running();
    const membership = this.#membership!;
    membership.announce('leaving');
    await membership.spread(3);
    const deadline = this.#clock.now() + timeoutMs;
    for (;;) {
      await this.#delivery!.deliverAll();
      const held = await this.#ownership!.handOff();
      if (held === 0 && this.#hints!.size === 0) break;
      if (this.#clock.now() > deadline) {
        throw new TimeoutError(`leave: ${held} partitions and ${this.#hints!.size} hints not handed over within ${timeoutMs} ms`);
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
    this.#running();
    this.#membership!.remove(id);
    await this.#membership!.spread(3);
    await this.#ringWork;
  }

  /**
   * Collects now the deleted keys whose grace has passed and whose owners all hold the same
   * tombstones (also done after every periodic anti-entropy round). Resolves with how many.
   */
  async collectTombstones(): Promise<number> {
    this.#running();
    return this.#tombstones!.collect();
  }

  /** Counters and latency percentiles. */
  metrics(): MetricsSnapshot {
    return this.#metrics.snapshot();
  }

  #running(): Coordinator {
    if (this.#state !== 'running' || this.#coordinator === undefined) {
      throw new DynamoError('NOT_STARTED', `member ${this.id} is ${this.#state}: call start() first`);
    }
    return this.#coordinator;
  }

  async #measure<T>(op: OperationName, work: Promise<T>): Promise<T> {
    const started = this.#clock.now();
    try {
      const result = await work;
      this.#metrics.observe(op, this.#clock.now() - started, true);
      return result;
    } catch (error) {
      this.#metrics.observe(op, this.#clock.now() - started, false);
      throw error;
    }
  }

  async #send(member: string, message: Message, timeoutMs: number): Promise<Message> {
    const address = this.#membership?.table.get(member)?.address ?? member;
    try {
      return await this.#transport.request(address, message, { timeoutMs });
    } catch (error) {
      // A refusal is proof nobody listens there: no need to wait for the detector.
      if (error instanceof DynamoError && error.code === 'UNREACHABLE') this.#membership?.reportUnreachable(member);
      throw error;
    }
  }

  #track(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.#background.add(settled);
    void settled.then(() => this.#background.delete(settled));
  }
}

function present<T>(versions: Versions | undefined): GetResult<T> {
  if (versions === undefined) return { values: [], context: encodeContext(EMPTY_CONTEXT) };
  const values: T[] = [];
  for (const value of valuesOf(versions)) if (value !== null) values.push(decodeValue<T>(value));
  return { values, context: encodeContext(versions.context) };
}

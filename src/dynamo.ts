/**
 * The `Dynamo` class: one member of a cluster, embedded in the caller's process. It owns the
 * lifecycle (start, stop) and the public get/put/delete façade; the work is done by the
 * coordinator, the replica store and membership, each given only what it needs.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { resolveConfig, resolveRequest, type DynamoOptions, type RequestOptions, type ResolvedConfig } from './config.js';
import { DynamoError } from './errors.js';
import type { DynamoEvents } from './events.js';
import { decodeValue, encodeValue, keyBytes, type Key } from './keys.js';
import { Metrics, type MetricsSnapshot, type OperationName } from './metrics/metrics.js';
import type { MemberInfo } from './membership/member-table.js';
import { Membership } from './membership/membership.js';
import { Coordinator } from './coordinator/coordinator.js';
import { DATA_SPACE, ReplicaStore, type Versions } from './replica/replica-store.js';
import { DotCounter, loadIdentity } from './replica/identity.js';
import { HintStore } from './handoff/hint-store.js';
import { HintDelivery } from './handoff/hint-delivery.js';
import { decodeVersions, encodeVersions } from './codec/versions.js';
import { EMPTY_CONTEXT, valuesOf } from './versioning/dvvset.js';
import { decodeContext, encodeContext } from './versioning/context.js';
import { parseRequest, type MessageLimits } from './protocol/messages.js';
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
  #replicas: ReplicaStore | undefined;
  #hints: HintStore | undefined;
  #delivery: HintDelivery | undefined;

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
      const replicas = new ReplicaStore(this.#storage, DATA_SPACE, counter);
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
        onRingChanged: (ring) => this.emit('ring:changed', { checksum: ring.checksum, members: ring.memberIds }),
      });
      const send = (member: string, message: Message, timeoutMs: number) => this.#send(member, message, timeoutMs);
      const track = (work: Promise<unknown>) => this.#track(work);
      this.#replicas = replicas;
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
        send,
        track,
        onDelivered: (entry) => {
          this.#metrics.increment('hints_delivered');
          this.emit('hint:delivered', { key: entry.key, target: entry.target });
        },
      });
      await this.#transport.listen((message) => this.#handle(message));
      this.#state = 'running';
      await membership.join(config.seeds, Math.min(config.timeoutMs, 2000));
      membership.start();
      this.#delivery.start();
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
    return membership?.table.list().map((m) => membership.info(m)) ?? [];
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

  /** Serves a request from a peer. */
  async #handle(message: Message): Promise<Message> {
    const coordinator = this.#running();
    const request = parseRequest(message, this.#limits);
    switch (request.type) {
      case 'read': {
        this.#metrics.increment('replica_reads');
        const hinted = await this.#hints!.read(request.key);
        if (hinted === undefined) {
          const versions = await this.#replicas!.readEncoded(request.key);
          return { type: 'read-reply', versions: versions ?? null };
        }
        const merged = await coordinator.readLocal(request.key);
        return { type: 'read-reply', versions: merged === undefined ? null : encodeVersions(merged).slice() };
      }
      case 'replicate': {
        this.#metrics.increment('replica_writes');
        const versions = decodeVersions(request.versions);
        if (request.hint === null || request.hint === this.id) {
          await this.#replicas!.merge(request.key, versions, request.versions);
        } else {
          await this.#hints!.merge(request.key, request.hint, versions, request.versions);
          this.#metrics.increment('hints_stored');
          this.emit('hint:stored', { key: request.key, target: request.hint });
        }
        return { type: 'ack' };
      }
      case 'put': {
        const quorum = { r: this.#config.r, w: request.w, pr: 0, pw: request.pw, timeoutMs: request.timeoutMs };
        const context = request.context === null ? EMPTY_CONTEXT : decodeContext(request.context);
        const owners = this.preferenceList(request.key);
        const hintFor = owners.includes(this.id) ? undefined : (request.hint ?? owners[0]);
        const as = hintFor === undefined ? { id: this.id } : { id: this.id, hintFor };
        const written = await coordinator.coordinatePut(request.key, request.value, context, quorum, as);
        return { type: 'put-reply', context: encodeContext(written) };
      }
      case 'gossip':
        return this.#membership!.handleGossip(request);
    }
  }
}

function present<T>(versions: Versions | undefined): GetResult<T> {
  if (versions === undefined) return { values: [], context: encodeContext(EMPTY_CONTEXT) };
  const values: T[] = [];
  for (const value of valuesOf(versions)) if (value !== null) values.push(decodeValue<T>(value));
  return { values, context: encodeContext(versions.context) };
}

/**
 * Builds the parts of one member and wires them to each other: the composition root behind
 * `Dynamo.start()`. Each part receives only the few functions it needs (STYLE: narrow
 * dependencies); the shell passed in is how they reach the member's events, metrics,
 * transport and background-work tracking.
 * @module
 */
import type { ResolvedConfig } from '../config.js';
import type { DynamoEvents } from '../events.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Storage } from '../storage/storage.js';
import type { Message, Transport } from '../transport/transport.js';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import type { MessageLimits } from '../protocol/messages.js';
import { Membership } from '../membership/membership.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { DATA_SPACE, ReplicaStore } from '../replica/replica-store.js';
import { wallTime } from '../time/clock.js';
import { DotCounter, loadIdentity } from '../replica/identity.js';
import { HintStore } from '../handoff/hint-store.js';
import { HintDelivery } from '../handoff/hint-delivery.js';
import { Ownership } from '../handoff/ownership.js';
import { createRequestHandler } from '../protocol/request-handler.js';
import { HashTrees } from '../anti-entropy/trees.js';
import { AntiEntropy } from '../anti-entropy/exchange.js';
import { TombstoneCollector } from '../anti-entropy/tombstones.js';
import { dataKey, keyView } from '../anti-entropy/layout.js';
import { CrdtCompactor } from '../resolve/crdt-compactor.js';
import { hashKey } from '../ring/hash.js';
import { Periodic } from '../time/periodic.js';

/** What the parts need from the member around them. */
export interface MemberShell {
  readonly config: ResolvedConfig;
  readonly storage: Storage;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics: Metrics;
  readonly limits: MessageLimits;
  emit<E extends keyof DynamoEvents>(event: E, ...args: DynamoEvents[E]): void;
  /** Sends to a member by id (noting refusals as failures). */
  send(member: string, message: Message, timeoutMs: number): Promise<Message>;
  /** Keeps background work visible to `stop()`. */
  track(work: Promise<unknown>): void;
  /** Whether the member is running (ring-change work starts only then). */
  running(): boolean;
  /** A user value as a replica stores it: encoded, size-checked, stamped with a write made now. */
  storedValue(value: unknown): Uint8Array;
}

/** The parts of a running member. */
export interface MemberParts {
  readonly membership: Membership;
  readonly coordinator: Coordinator;
  readonly hints: HintStore;
  readonly delivery: HintDelivery;
  readonly ownership: Ownership;
  readonly tombstones: TombstoneCollector;
  /** Periodic anti-entropy, handoff and tombstone collection. */
  readonly maintenance: Periodic;
  /** Serves peers' requests. */
  readonly handle: (message: Message) => Promise<Message>;
}

/** Loads this member's state from storage and builds its parts (nothing runs yet). */
export async function assembleMember(shell: MemberShell): Promise<MemberParts> {
  const { config, storage, clock, random, metrics, send } = shell;
  const track = (work: Promise<unknown>) => shell.track(work);
  let ringWork: Promise<void> = Promise.resolve();
  let delivery: HintDelivery | undefined;
  let ownership: Ownership | undefined;
  // The coordinator places a key on the ring and then stores it behind its ring position.
  // Hashing again (~0.1 µs) is cheaper than remembering positions in a WeakMap, whose
  // entries are ephemerons every GC has to trace.
  const position = (key: Uint8Array): number => hashKey(key);
  const identity = await loadIdentity(storage, config.id, random);
  const counter = await DotCounter.load(storage);
  const trees = new HashTrees(config.partitions);
  const replicas = new ReplicaStore(storage, DATA_SPACE, counter, {
    storageKey: (key) => dataKey(key, position(key)),
    now: () => wallTime(clock),
    pruning: config.clockPruning,
    maxSiblings: config.maxSiblings,
    onChange: (storageKey, before, after, set) => {
      trees.change(storageKey, before, after);
      tombstones.observe(storageKey, after, set);
      // Only siblings can need compacting: the key's view is made for those alone.
      if (compactor !== undefined && set !== undefined && set.values.length > 1) compactor.observe(keyView(storageKey), set);
    },
  });
  // Sibling CRDTs merged inside the replicas, by each key's first owner (see crdt-compactor.ts).
  const compactor = config.mergeCrdts
    ? new CrdtCompactor({
        isPrimary: (key) => membership.ring.preferenceList(key, 1)[0] === config.id,
        write: (key, value, context) =>
          coordinator.coordinatePut(
            key,
            shell.storedValue(value),
            context,
            { r: config.r, w: 1, pr: 0, pw: 0, timeoutMs: config.timeoutMs },
            { id: config.id },
          ),
        read: (key) => replicas.read(key),
        track,
      })
    : undefined;
  const tombstones = new TombstoneCollector({
    self: config.id,
    clock: clock,
    graceMs: config.tombstoneGraceMs,
    timeoutMs: config.timeoutMs,
    replicas,
    owners: (key) => membership.ring.preferenceList(key, config.n),
    isUp: (id) => membership.isUp(id),
    send: send,
    onCollected: () => metrics.increment('tombstones_collected'),
  });
  for await (const [storageKey, value] of storage.iterate(DATA_SPACE)) {
    trees.change(storageKey, undefined, value);
    tombstones.observe(storageKey, value);
  }
  const hints = new HintStore({
    storage: storage,
    counter,
    clock: clock,
    maxHints: config.maxHints,
    maxSiblings: config.maxSiblings,
    onDropped: (entry) => {
      metrics.increment('hints_dropped');
      shell.emit('hint:dropped', { key: entry.key, target: entry.target });
    },
  });
  await hints.load();
  const membership = new Membership({
    self: {
      id: config.id,
      address: shell.transport.address,
      vnodes: config.vnodes,
      status: 'up',
      incarnation: identity.incarnation,
      heartbeat: 0,
    },
    partitions: config.partitions,
    n: config.n,
    gossipIntervalMs: config.gossipIntervalMs,
    phiThreshold: config.phiThreshold,
    clock: clock,
    random: random,
    request: (address, message, timeoutMs) => shell.transport.request(address, message, { timeoutMs }),
    onJoined: (member) => shell.emit('member:joined', member),
    onUp: (member) => {
      shell.emit('member:up', member);
      void delivery?.deliver(member.id);
    },
    onDown: (member) => {
      metrics.increment('members_suspected');
      shell.emit('member:down', member);
    },
    onLeft: (member) => shell.emit('member:left', member),
    onRound: () => metrics.increment('gossip_rounds'),
    onRingChanged: (ring) => {
      shell.emit('ring:changed', { checksum: ring.checksum, members: ring.memberIds });
      // One pass at a time; each pass looks at the ring as it is when it runs.
      if (shell.running()) {
        ringWork = ringWork
          .then(() => ownership?.ringChanged())
          .catch((error: unknown) => config.logger.warn({ member: config.id, error: String(error) }, 'handing partitions over after a ring change failed; anti-entropy will retry'));
        track(ringWork);
      }
    },
  });
  const coordinator = new Coordinator({
    self: config.id,
    actor: identity.actor,
    n: config.n,
    clock: clock,
    replicas,
    hints,
    metrics: metrics,
    readRepair: config.readRepair,
    walk: (key) => {
      const ring = membership.ring;
      return ring.walk(ring.partitionOfHash(position(key)), ring.size);
    },
    isUp: (id) => membership.isUp(id),
    send,
    track,
    onHintStored: (key, target) => {
      metrics.increment('hints_stored');
      shell.emit('hint:stored', { key, target });
    },
    onRepair: (key, replicas) => shell.emit('repair', { key, replicas }),
    siblingsWarn: config.siblingsWarn,
    onConflict: (key, siblings) => shell.emit('conflict', { key, siblings, overWarning: siblings > config.siblingsWarn }),
  });
  delivery = new HintDelivery({
    hints,
    clock: clock,
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
      metrics.increment('hints_delivered');
      shell.emit('hint:delivered', { key: entry.key, target: entry.target });
    },
  });
  const antiEntropy = new AntiEntropy({ storage: storage, trees, replicas, partitions: config.partitions, send, timeoutMs: config.timeoutMs });
  const handle = createRequestHandler({
    self: config.id,
    r: config.r,
    limits: shell.limits,
    metrics: metrics,
    clock: clock,
    coordinator,
    replicas,
    hints,
    membership,
    antiEntropy,
    owners: (key) => membership.ring.preferenceList(key, config.n),
    onHintStored: (key, target) => {
      metrics.increment('hints_stored');
      shell.emit('hint:stored', { key, target });
    },
  });
  ownership = new Ownership({
    self: config.id,
    n: config.n,
    storage: storage,
    replicas,
    trees,
    antiEntropy,
    random: random,
    ring: () => membership.ring,
    members: () => membership.current().map((m) => m.id),
    isUp: (id) => id === config.id || membership.isUp(id),
    onSync: (report) => {
      metrics.increment('anti_entropy_keys_moved', report.keysSent + report.keysReceived);
      shell.emit('sync', report);
    },
  });
  const handoff = ownership;
  const maintenance = new Periodic(clock, config.antiEntropyIntervalMs, async () => {
    await handoff.round();
    await tombstones.collect();
  });
  return { membership, coordinator, hints, delivery, ownership, tombstones, maintenance, handle };
}

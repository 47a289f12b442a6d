/**
 * Options of a {@link Dynamo} member: the one place for defaults, and their validation.
 * Every default lives in {@link DEFAULTS}; options are merged with `??` so that an explicit
 * `0` is kept (and then validated), never silently replaced by the default.
 * @module
 */
import { ValidationError } from './errors.js';
import type { Storage } from './storage/storage.js';
import type { Transport } from './transport/transport.js';
import type { Clock } from './time/clock.js';
import type { Random } from './time/random.js';
import type { Resolver } from './resolve/resolvers.js';
import { isLogger, silentLogger, type Logger } from './logger.js';
import { RIAK_PRUNE_DEFAULTS, type PruneOptions } from './versioning/version-vector.js';

/** Options of `new Dynamo(options)`. Only `transport` is required. */
export interface DynamoOptions {
  /**
   * Unique member id, stable across restarts (it names this member in clocks and the ring).
   * @default transport.address
   */
  id?: string;
  /** How this member talks to its peers. */
  transport: Transport;
  /**
   * Where replicas and hints live.
   * @default new MemoryStorage()
   */
  storage?: Storage;
  /**
   * Addresses of members to join through. Listing this member's own address is harmless,
   * so every member of a cluster can be given the same list.
   * @default []
   */
  seeds?: readonly string[];
  /** Replicas per key. Must be the same on every member. @default 3 */
  n?: number;
  /** Replies a read waits for (1..n). @default 2 */
  r?: number;
  /** Acknowledgements a write waits for (1..n). @default 2 */
  w?: number;
  /**
   * This member's weight on the ring: it owns partitions in proportion to `vnodes`
   * against the other members' (the paper's virtual nodes, §4.2).
   * @default 128
   */
  vnodes?: number;
  /**
   * Q, the number of equal partitions of the hash space (the paper's strategy 3, §6.2).
   * A power of two; must be the same on every member.
   * @default 4096
   */
  partitions?: number;
  /** Default per-request deadline, in milliseconds. @default 5000 */
  timeoutMs?: number;
  /** Largest key, in bytes (UTF-8 for strings). @default 1024 */
  maxKeyBytes?: number;
  /** Largest value, in bytes of its CBOR encoding. @default 1048576 */
  maxValueBytes?: number;
  /**
   * Repair the stale replicas a read saw, in the background after answering (§4.7).
   * @default true
   */
  readRepair?: boolean;
  /**
   * How often this member exchanges its member table with a random peer. Smaller spreads
   * joins and detects failures faster at the cost of more messages (one request per member
   * per interval). A dead member is suspected after about 18 mean heartbeat intervals of
   * silence at the default `phiThreshold` (measured: 2–3 s with 5 to 20 members), at once
   * when a request to it is refused.
   * @default 100
   */
  gossipIntervalMs?: number;
  /**
   * Suspicion level of the phi-accrual failure detector: a member is believed down once
   * φ = silence / mean heartbeat interval · log10(e) exceeds it. Higher means fewer false
   * suspicions and slower detection.
   * @default 8
   */
  phiThreshold?: number;
  /**
   * Hints this member keeps for others at most; past it the oldest hint is dropped (a
   * `hint:dropped` event; anti-entropy repairs what it carried).
   * @default 100000
   */
  maxHints?: number;
  /**
   * Hints older than this are dropped undelivered (`hint:dropped`): an owner gone that long
   * is for the operator to `remove`, and anti-entropy repairs what the hints carried. Age
   * counts from when this process first held the hint (a restart starts the count again).
   * @default 259200000 (3 days)
   */
  maxHintAgeMs?: number;
  /** How often to try delivering hints to members that are up. @default 1000 */
  hintIntervalMs?: number;
  /**
   * How often to run one anti-entropy exchange (Merkle trees) with a random member that is
   * up. Each exchange costs a few KB when replicas agree.
   * @default 30000
   */
  antiEntropyIntervalMs?: number;
  /**
   * How long a deleted key's tombstones are kept before they may be collected (and then
   * only once every owner holds them). Keep it above the time hints and handoffs take to
   * land: a copy of an old version arriving after collection would bring it back.
   * @default 3600000 (1 hour)
   */
  tombstoneGraceMs?: number;
  /**
   * Clock pruning (the paper's §4.4, with Riak's thresholds): each replica, when it stores
   * a key's versions, forgets the oldest coordinators of the key's history that no current
   * value belongs to, once the history names more than `small` of them. Bounds a key's
   * metadata when many members have coordinated writes of it. `false` keeps every entry.
   *
   * The consequence is possible false siblings, never lost data: a replica that missed the
   * write superseding a pruned coordinator's version (down, partitioned, a late hint) can
   * bring that version back as a sibling, which the next write with a `get` context
   * supersedes again. Ages come from wall time (or the injected `clock`). Use the same
   * setting on every member, or replicas keep differing on what they forgot.
   * @default { small: 50, big: 50, youngMs: 20000, oldMs: 86400000 } (Riak's)
   */
  clockPruning?: ClockPruningOptions | false;
  /**
   * A read that finds more siblings than this emits a `conflict` event with `overWarning`,
   * and so does a write that leaves more. Many siblings usually mean writers that do not
   * pass the context of their read.
   * @default 25
   */
  siblingsWarn?: number;
  /**
   * A put that would leave more siblings than this under one key is refused with a
   * `DynamoError` of code `TOO_MANY_SIBLINGS` (as Riak's `max_siblings`), rather than grow
   * the key without end; a put with the context of a read that saw them always passes.
   * @default 100
   */
  maxSiblings?: number;
  /**
   * Merges the siblings a get finds into one value, which the get returns and writes back
   * with its context, so later readers see one version. `union` and `lastWriteWins` are
   * built in; per request, `get(key, { resolve })` overrides it. CRDT siblings are merged
   * without it (see `mergeCrdts`).
   * @default undefined (siblings are returned as they are)
   */
  resolve?: Resolver<any>;
  /**
   * Siblings that are all CRDTs of one class (`ORSet`, `ORMap`, `PNCounter`, `LWWRegister`)
   * are merged by the CRDT's own `merge` on read and written back, so a key holding a CRDT
   * never surfaces siblings.
   * @default true
   */
  mergeCrdts?: boolean;
  /**
   * Where this member logs: any pino-compatible logger (`pino()`, `console`). See
   * `src/logger.ts` for what is logged at which level.
   * @default silent
   */
  logger?: Logger;
  /** Source of time and timers; inject a `ManualClock` for deterministic tests. @default systemClock */
  clock?: Clock;
  /** Source of randomness; inject `seededRandom(seed)` for deterministic tests. @default Math.random */
  random?: Random;
}

/** Thresholds of {@link DynamoOptions.clockPruning}; each falls back to its default. */
export interface ClockPruningOptions {
  /** Never prune a history naming at most this many coordinators. @default 50 */
  small?: number;
  /** Drop the oldest (of those not younger than `youngMs`) while more than this many remain. @default 50 */
  big?: number;
  /**
   * Never drop a coordinator whose last write of the key is younger than this (ms): a
   * write it coordinated may still be on its way to some replica.
   * @default 20000
   */
  youngMs?: number;
  /** Beyond `small`, drop coordinators whose last write is older than this (ms). @default 86400000 (1 day) */
  oldMs?: number;
}

/** Per-request options of `get`, `put`, `delete` and `update`. */
export interface RequestOptions {
  /** Replies to wait for (reads); defaults to the member's `r`. */
  r?: number;
  /** Acknowledgements to wait for (writes); defaults to the member's `w`. */
  w?: number;
  /** How many of the replies must come from the key's true owners rather than stand-ins. @default 0 */
  pr?: number;
  /** How many of the acknowledgements must come from the key's true owners. @default 0 */
  pw?: number;
  /** Deadline for this request; defaults to the member's `timeoutMs`. */
  timeoutMs?: number;
  /** The `context` of an earlier read: the versions this write supersedes. */
  context?: string;
  /** For a get: merges siblings into one value, as the member's `resolve` option does. */
  resolve?: Resolver<any>;
}

/** The defaults, in one place. */
export const DEFAULTS = {
  /** Default of {@link DynamoOptions.seeds}: no seeds, so the member starts alone. */
  seeds: [] as readonly string[],
  /** Default of {@link DynamoOptions.n}: 3 replicas per key. */
  n: 3,
  /** Default of {@link DynamoOptions.r}: 2 replies per read (lowered to `n` when `n` is smaller). */
  r: 2,
  /** Default of {@link DynamoOptions.w}: 2 acknowledgements per write (lowered to `n` when `n` is smaller). */
  w: 2,
  /** Default of {@link DynamoOptions.vnodes}: a ring weight of 128. */
  vnodes: 128,
  /** Default of {@link DynamoOptions.partitions}: 4096 partitions of the hash space. */
  partitions: 4096,
  /** Default of {@link DynamoOptions.timeoutMs}: 5000 ms per request. */
  timeoutMs: 5000,
  /** Default of {@link DynamoOptions.maxKeyBytes}: 1024 bytes (1 KiB). */
  maxKeyBytes: 1024,
  /** Default of {@link DynamoOptions.maxValueBytes}: 1048576 bytes (1 MiB) of CBOR. */
  maxValueBytes: 1024 * 1024,
  /** Default of {@link DynamoOptions.readRepair}: reads repair stale replicas. */
  readRepair: true,
  /** Default of {@link DynamoOptions.gossipIntervalMs}: a gossip round every 100 ms. */
  gossipIntervalMs: 100,
  /** Default of {@link DynamoOptions.phiThreshold}: a member is suspected once φ exceeds 8. */
  phiThreshold: 8,
  /** Default of {@link DynamoOptions.maxHints}: at most 100000 hints kept for others. */
  maxHints: 100_000,
  /** Default of {@link DynamoOptions.maxHintAgeMs}: hints are dropped after 3 days (259200000 ms). */
  maxHintAgeMs: 3 * 24 * 3600 * 1000,
  /** Default of {@link DynamoOptions.hintIntervalMs}: hint delivery is tried every 1000 ms. */
  hintIntervalMs: 1000,
  /** Default of {@link DynamoOptions.antiEntropyIntervalMs}: one anti-entropy exchange every 30000 ms. */
  antiEntropyIntervalMs: 30_000,
  /** Default of {@link DynamoOptions.tombstoneGraceMs}: tombstones are kept at least 1 hour (3600000 ms). */
  tombstoneGraceMs: 3_600_000,
  /** Default of {@link DynamoOptions.clockPruning}: Riak's thresholds `{ small: 50, big: 50, youngMs: 20000, oldMs: 86400000 }`. */
  clockPruning: RIAK_PRUNE_DEFAULTS as Readonly<Required<ClockPruningOptions>>,
  /** Default of {@link DynamoOptions.siblingsWarn}: warn past 25 siblings. */
  siblingsWarn: 25,
  /** Default of {@link DynamoOptions.maxSiblings}: refuse a put that would leave more than 100 siblings. */
  maxSiblings: 100,
  /** Default of {@link DynamoOptions.mergeCrdts}: CRDT siblings are merged on read. */
  mergeCrdts: true,
} as const;

/** Options after defaults are applied and validated. */
export interface ResolvedConfig {
  readonly id: string;
  readonly seeds: readonly string[];
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly vnodes: number;
  readonly partitions: number;
  readonly timeoutMs: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly readRepair: boolean;
  readonly gossipIntervalMs: number;
  readonly phiThreshold: number;
  readonly maxHints: number;
  readonly maxHintAgeMs: number;
  readonly hintIntervalMs: number;
  readonly antiEntropyIntervalMs: number;
  readonly tombstoneGraceMs: number;
  readonly clockPruning: Readonly<PruneOptions> | false;
  readonly siblingsWarn: number;
  readonly maxSiblings: number;
  readonly resolve: Resolver<any> | undefined;
  readonly mergeCrdts: boolean;
  readonly logger: Logger;
}

const MAX_PARTITIONS = 65536;

function requireInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}

/** Applies defaults to `options` and validates them; never mutates `options`. */
export function resolveConfig(options: DynamoOptions): ResolvedConfig {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('options must be an object');
  }
  const transport = options.transport as Transport | undefined;
  if (
    transport == null ||
    typeof transport.request !== 'function' ||
    typeof transport.listen !== 'function' ||
    typeof transport.address !== 'string'
  ) {
    throw new ValidationError('options.transport must be a Transport (e.g. network.transport("a"))');
  }
  const id = options.id ?? transport.address;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new ValidationError(`id must be a non-empty string of at most 256 characters, got ${describe(id)}`);
  }
  const seeds = options.seeds ?? DEFAULTS.seeds;
  if (!Array.isArray(seeds) || seeds.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new ValidationError('seeds must be an array of non-empty address strings');
  }
  const n = requireInteger('n', options.n ?? DEFAULTS.n, 1, 64);
  const r = requireInteger('r', options.r ?? Math.min(DEFAULTS.r, n), 1, n);
  const w = requireInteger('w', options.w ?? Math.min(DEFAULTS.w, n), 1, n);
  const vnodes = requireInteger('vnodes', options.vnodes ?? DEFAULTS.vnodes, 1, 65536);
  const partitions = requireInteger('partitions', options.partitions ?? DEFAULTS.partitions, 1, MAX_PARTITIONS);
  if ((partitions & (partitions - 1)) !== 0) {
    throw new ValidationError(`partitions must be a power of two, got ${partitions}`);
  }
  const timeoutMs = requireInteger('timeoutMs', options.timeoutMs ?? DEFAULTS.timeoutMs, 1, 3_600_000);
  const maxKeyBytes = requireInteger('maxKeyBytes', options.maxKeyBytes ?? DEFAULTS.maxKeyBytes, 1, 65536);
  const maxValueBytes = requireInteger(
    'maxValueBytes',
    options.maxValueBytes ?? DEFAULTS.maxValueBytes,
    1,
    64 * 1024 * 1024,
  );
  const readRepair = options.readRepair ?? DEFAULTS.readRepair;
  if (typeof readRepair !== 'boolean') throw new ValidationError('readRepair must be a boolean');
  const gossipIntervalMs = requireInteger(
    'gossipIntervalMs',
    options.gossipIntervalMs ?? DEFAULTS.gossipIntervalMs,
    1,
    3_600_000,
  );
  const phiThreshold = options.phiThreshold ?? DEFAULTS.phiThreshold;
  if (typeof phiThreshold !== 'number' || !(phiThreshold > 0) || phiThreshold > 100) {
    throw new ValidationError(`phiThreshold must be a number above 0 and at most 100, got ${describe(phiThreshold)}`);
  }
  const maxHints = requireInteger('maxHints', options.maxHints ?? DEFAULTS.maxHints, 1, 100_000_000);
  const maxHintAgeMs = requireInteger('maxHintAgeMs', options.maxHintAgeMs ?? DEFAULTS.maxHintAgeMs, 1, Number.MAX_SAFE_INTEGER);
  const hintIntervalMs = requireInteger('hintIntervalMs', options.hintIntervalMs ?? DEFAULTS.hintIntervalMs, 1, 3_600_000);
  const antiEntropyIntervalMs = requireInteger(
    'antiEntropyIntervalMs',
    options.antiEntropyIntervalMs ?? DEFAULTS.antiEntropyIntervalMs,
    1,
    86_400_000,
  );
  const tombstoneGraceMs = requireInteger('tombstoneGraceMs', options.tombstoneGraceMs ?? DEFAULTS.tombstoneGraceMs, 0, Number.MAX_SAFE_INTEGER);
  const clockPruning = resolveClockPruning(options.clockPruning);
  const siblingsWarn = requireInteger('siblingsWarn', options.siblingsWarn ?? DEFAULTS.siblingsWarn, 1, Number.MAX_SAFE_INTEGER);
  const maxSiblings = requireInteger('maxSiblings', options.maxSiblings ?? DEFAULTS.maxSiblings, 1, Number.MAX_SAFE_INTEGER);
  if (options.resolve !== undefined && typeof options.resolve !== 'function') {
    throw new ValidationError('resolve must be a function (siblings, info) => value, e.g. union or lastWriteWins');
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw new ValidationError('logger must have info, warn and error methods (pino or console will do)');
  }
  const mergeCrdts = options.mergeCrdts ?? DEFAULTS.mergeCrdts;
  if (typeof mergeCrdts !== 'boolean') throw new ValidationError(`mergeCrdts must be a boolean, got ${typeof mergeCrdts}`);
  if (options.clock !== undefined && typeof options.clock?.setTimeout !== 'function') {
    throw new ValidationError('clock must implement Clock (now, setTimeout, clearTimeout)');
  }
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new ValidationError('random must be a function returning a number in [0, 1)');
  }
  return {
    id,
    seeds: [...seeds],
    n,
    r,
    w,
    vnodes,
    partitions,
    timeoutMs,
    maxKeyBytes,
    maxValueBytes,
    readRepair,
    gossipIntervalMs,
    phiThreshold,
    maxHints,
    maxHintAgeMs,
    hintIntervalMs,
    antiEntropyIntervalMs,
    tombstoneGraceMs,
    clockPruning,
    siblingsWarn,
    maxSiblings,
    resolve: options.resolve,
    mergeCrdts,
    logger: options.logger ?? silentLogger,
  };
}

function resolveClockPruning(value: ClockPruningOptions | false | undefined): Readonly<PruneOptions> | false {
  if (value === false) return false;
  if (value === undefined) return DEFAULTS.clockPruning;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(`clockPruning must be false or an object { small, big, youngMs, oldMs }, got ${describe(value)}`);
  }
  const d = DEFAULTS.clockPruning;
  return Object.freeze({
    small: requireInteger('clockPruning.small', value.small ?? d.small, 0, 1_000_000),
    big: requireInteger('clockPruning.big', value.big ?? d.big, 0, 1_000_000),
    youngMs: requireInteger('clockPruning.youngMs', value.youngMs ?? d.youngMs, 0, Number.MAX_SAFE_INTEGER),
    oldMs: requireInteger('clockPruning.oldMs', value.oldMs ?? d.oldMs, 0, Number.MAX_SAFE_INTEGER),
  });
}

/** Quorum sizes of one request, after per-request overrides. */
export interface Quorum {
  readonly r: number;
  readonly w: number;
  readonly pr: number;
  readonly pw: number;
  readonly timeoutMs: number;
}

/** Merges per-request options over the member's config and validates them. */
export function resolveRequest(config: ResolvedConfig, opts: RequestOptions | undefined): Quorum {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw new ValidationError('request options must be an object');
  }
  const r = requireInteger('r', opts?.r ?? config.r, 1, config.n);
  const w = requireInteger('w', opts?.w ?? config.w, 1, config.n);
  const pr = requireInteger('pr', opts?.pr ?? 0, 0, r);
  const pw = requireInteger('pw', opts?.pw ?? 0, 0, w);
  const timeoutMs = requireInteger('timeoutMs', opts?.timeoutMs ?? config.timeoutMs, 1, 3_600_000);
  if (opts?.resolve !== undefined && typeof opts.resolve !== 'function') {
    throw new ValidationError('resolve must be a function (siblings, info) => value, e.g. union or lastWriteWins');
  }
  return { r, w, pr, pw, timeoutMs };
}

/**
 * The consistent-hash ring: which members own which keys.
 *
 * Partitioning follows Dynamo §4.2 with the paper's strategy 3 (§6.2): the 32-bit hash space
 * is cut into Q equal partitions, each owned whole by one member, and a key's preference
 * list is the first N distinct members met walking clockwise from its partition. Equal
 * partitions decouple placement from partitioning, make ranges the unit of handoff and
 * Merkle trees, and keep membership metadata to one owner per partition.
 *
 * Who owns a partition is decided by weighted rendezvous (highest-random-weight) hashing
 * (Thaler & Ravishankar 1998): every member draws a pseudo-random score for every partition
 * and the highest wins. That makes the ring a pure function of (Q, members, weights): every
 * process computes the same ring from the same membership with no coordination or claim
 * protocol, adding a member moves only partitions to it (about Q/(S+1)), removing one moves
 * only its own, and each member's expected share is exactly weight / total weight whatever
 * the ids. The price is binomial noise: a member expecting k partitions gets k ± sqrt(k), so
 * Q must be well above S (a few percent at Q/S ≈ 1000; ±15% at Q/S ≈ 40, e.g. 100 members
 * on 4096 partitions). Unlike Riak's claim algorithm it does not promise that every window
 * of N consecutive partitions has N distinct owners; the walk skips repeats instead, which
 * keeps preference lists correct for any assignment.
 * @module
 */
import murmur from 'murmurhash3js-revisited';
import { ValidationError } from '../errors.js';
import { hashKey, memberSeed, rendezvousDraw, weightedScore } from './hash.js';

/** A member as the ring sees it. */
export interface RingMember {
  /** Unique member id. */
  readonly id: string;
  /**
   * Relative share of the partitions this member should own (the `vnodes` option): a
   * member of weight 256 owns about twice what one of weight 128 does. A positive integer.
   */
  readonly weight: number;
}

/** Largest partition count: a partition number then fits in 16 bits. */
export const MAX_PARTITIONS = 65536;

/** Bumped if the checksum's input layout changes, so old and new rings never compare equal. */
const CHECKSUM_FORMAT = 1;

const utf8 = new TextEncoder();

/** In a `u` regex a surrogate range matches only unpaired halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Code-unit order, not `localeCompare`: every process must sort ids the same way. */
function compareIds(a: RingMember, b: RingMember): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function validatePartitions(partitions: number): void {
  if (
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS ||
    (partitions & (partitions - 1)) !== 0
  ) {
    throw new ValidationError(
      `partitions must be a power of two from 1 to ${MAX_PARTITIONS}, got ${String(partitions)}`,
    );
  }
}

function normaliseMembers(members: readonly RingMember[]): RingMember[] {
  if (!Array.isArray(members)) {
    throw new ValidationError('members must be an array of { id, weight }');
  }
  const sorted = members.map((m: RingMember): RingMember => {
    if (typeof m?.id !== 'string' || m.id.length === 0) {
      throw new ValidationError(`member id must be a non-empty string, got ${String(m?.id)}`);
    }
    // UTF-8 encodes every lone surrogate as U+FFFD, so two such ids would share a seed and
    // tie on every partition; refusing them keeps distinct ids distinct on the ring.
    if (LONE_SURROGATE.test(m.id)) {
      throw new ValidationError(
        `member id ${JSON.stringify(m.id)} must be well-formed Unicode (it has a lone surrogate)`,
      );
    }
    if (!Number.isSafeInteger(m.weight) || m.weight < 1) {
      const got = String(m.weight);
      throw new ValidationError(
        `weight of member ${JSON.stringify(m.id)} must be a positive integer, got ${got}`,
      );
    }
    return Object.freeze({ id: m.id, weight: m.weight });
  });
  sorted.sort(compareIds);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.id === sorted[i - 1]?.id) {
      throw new ValidationError(`duplicate member id ${JSON.stringify(sorted[i]?.id)}`);
    }
  }
  return sorted;
}

/**
 * The owner (index into `sorted`) of every partition. The highest score wins and ties go to
 * the smaller id, which is the lower index because `sorted` is in id order and leaders are
 * only replaced on a strictly higher score.
 *
 * Members of equal weight are ranked by their raw draw, since the score increases with the
 * draw; so a partition costs one logarithm per distinct weight, and none at all when every
 * weight is equal (the usual case). Draws are taken member by member across all partitions,
 * so each weight class is a tight loop per member over flat arrays, with the seed hoisted.
 */
function assignOwners(sorted: readonly RingMember[], partitions: number): Uint32Array {
  const owners = new Uint32Array(partitions);
  if (sorted.length <= 1) return owners;

  const byWeight = new Map<number, number[]>();
  sorted.forEach((m, i) => {
    const group = byWeight.get(m.weight);
    if (group === undefined) byWeight.set(m.weight, [i]);
    else group.push(i);
  });
  const leader = new Uint32Array(partitions);
  const leaderDraw = new Float64Array(partitions);
  const bestScore = new Float64Array(partitions).fill(-1);

  for (const [weight, indices] of byWeight) {
    leaderDraw.fill(-1);
    for (const i of indices) {
      const [hi, lo] = memberSeed(sorted[i]?.id ?? '');
      challenge(hi, lo, i, leaderDraw, leader);
    }
    if (byWeight.size === 1) return leader;
    for (let p = 0; p < partitions; p++) {
      const score = weightedScore(weight, leaderDraw[p] ?? 0);
      const best = bestScore[p] ?? 0;
      const candidate = leader[p] ?? 0;
      if (score > best || (score === best && candidate < (owners[p] ?? 0))) {
        bestScore[p] = score;
        owners[p] = candidate;
      }
    }
  }
  return owners;
}

/** Makes member `index` the leader of every partition where its draw beats the leader's. */
function challenge(
  seedHi: number,
  seedLo: number,
  index: number,
  leaderDraw: Float64Array,
  leader: Uint32Array,
): void {
  // Truncating once here keeps the seeds as machine words inside the loop: about a quarter
  // faster than passing the parsed numbers through.
  const hi = seedHi | 0;
  const lo = seedLo | 0;
  for (let p = 0; p < leaderDraw.length; p++) {
    const draw = rendezvousDraw(hi, lo, p);
    if (draw > (leaderDraw[p] ?? 0)) {
      leaderDraw[p] = draw;
      leader[p] = index;
    }
  }
}

/**
 * For every partition, the next partition clockwise with a different owner, or -1 when one
 * member owns everything. Walks then step over whole runs of one owner in O(1) each, so a
 * preference list costs a handful of steps rather than a scan of the partitions.
 */
function nextRunStarts(owners: Uint32Array): Int32Array {
  const q = owners.length;
  const next = new Int32Array(q).fill(-1);
  let start = -1;
  for (let p = 1; p < q && start < 0; p++) {
    if (owners[p] !== owners[p - 1]) start = p;
  }
  if (start < 0) return next;
  // Going backwards from just before a run start, each partition's successor is already known.
  for (let k = 1; k <= q; k++) {
    const p = (start - k + q) % q;
    const succ = (p + 1) % q;
    next[p] = owners[succ] !== owners[p] ? succ : (next[succ] ?? -1);
  }
  return next;
}

/**
 * The partition of Q = `partitions` (a power of two) that a 32-bit ring position falls in: its
 * top log2(Q) bits. Placement depends on nothing else, so this holds before any ring exists.
 */
export function partitionOfHash(hash: number, partitions: number): number {
  return partitionAt(hash, 32 - Math.log2(partitions));
}

/** The top `32 - shift` bits of `hash`. */
function partitionAt(hash: number, shift: number): number {
  // `x >>> 32` is `x >>> 0` in JavaScript, so Q = 1 needs its own case.
  return shift === 32 ? 0 : hash >>> shift;
}

/**
 * An immutable assignment of Q equal partitions of the hash space to members. Build one with
 * {@link Ring.build}; the same members and partition count always give the same ring, in
 * every process, whatever order the members are listed in.
 */
export class Ring {
  /** Q, the number of equal partitions of the 32-bit hash space; a power of two. */
  readonly partitions: number;
  /** Member ids in ascending code-unit order. */
  readonly memberIds: readonly string[];
  /** Members with their weights, in the order of {@link Ring.memberIds}. */
  readonly members: readonly RingMember[];

  /** 32 − log2(Q), computed once: positions are placed on every request. */
  readonly #shift: number;
  readonly #owners: Uint32Array;
  readonly #next: Int32Array;
  readonly #indexOf: ReadonlyMap<string, number>;
  #checksum: string | undefined;

  private constructor(members: readonly RingMember[], partitions: number, owners: Uint32Array) {
    this.partitions = partitions;
    this.#shift = 32 - Math.log2(partitions);
    this.members = Object.freeze(members);
    this.memberIds = Object.freeze(members.map((m) => m.id));
    this.#owners = owners;
    this.#next = nextRunStarts(owners);
    this.#indexOf = new Map(this.memberIds.map((id, i) => [id, i]));
  }

  /**
   * Computes the ring for a membership.
   * @param members every member with its weight, in any order; not modified.
   * @param partitions Q: a power of two from 1 to 65536. It bounds how evenly load can be
   *   shared (a member's partition count varies by about 1/sqrt(Q/S) of its share, so keep
   *   Q/S in the hundreds or more) and fixes the unit of handoff, so all members must agree
   *   on it.
   * @throws {ValidationError} on a bad partition count, an empty or duplicate id, or a weight
   *   that is not a positive integer.
   */
  static build(members: readonly RingMember[], partitions: number): Ring {
    validatePartitions(partitions);
    const sorted = normaliseMembers(members);
    return new Ring(sorted, partitions, assignOwners(sorted, partitions));
  }

  /** Number of members. */
  get size(): number {
    return this.memberIds.length;
  }

  /**
   * A 16-hex-digit digest of Q, every member's id and weight, and the owner of every
   * partition. Members exchange it to tell whether their rings have converged: equal rings
   * give equal checksums, and any difference in membership, weights or assignment (even one
   * from a different library version) changes it, barring a 64-bit hash collision.
   */
  get checksum(): string {
    this.#checksum ??= this.#computeChecksum();
    return this.#checksum;
  }

  /** Whether `memberId` is a member of this ring. */
  has(memberId: string): boolean {
    return this.#indexOf.has(memberId);
  }

  /** The partition a key falls in. */
  partitionOfKey(key: Uint8Array): number {
    return this.partitionOfHash(hashKey(key));
  }

  /**
   * The partition a 32-bit ring position falls in: its top log2(Q) bits.
   * @throws {ValidationError} if `hash` is not an integer from 0 to 2^32 - 1.
   */
  partitionOfHash(hash: number): number {
    if (!Number.isInteger(hash) || hash < 0 || hash > 0xffffffff) {
      throw new ValidationError(`hash must be an integer from 0 to 2^32 - 1, got ${String(hash)}`);
    }
    return partitionAt(hash, this.#shift);
  }

  /**
   * The member owning `partition`.
   * @throws {ValidationError} if the ring has no members or `partition` is not in 0..Q-1.
   */
  owner(partition: number): string {
    this.#checkPartition(partition);
    const id = this.memberIds[this.#owners[partition] ?? 0];
    if (id === undefined) {
      throw new ValidationError('the ring has no members, so no partition has an owner');
    }
    return id;
  }

  /**
   * The first `count` distinct members met walking clockwise from `partition`, its own owner
   * first. Fewer when fewer members own partitions (a member can own none if its weight is
   * tiny relative to the others or Q is small); empty for an empty ring.
   * @throws {ValidationError} if `partition` is not in 0..Q-1 or `count` is not a
   *   non-negative integer.
   */
  walk(partition: number, count: number): string[] {
    this.#checkPartition(partition);
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new ValidationError(`count must be a non-negative integer, got ${String(count)}`);
    }
    const ids = this.memberIds;
    const want = Math.min(count, ids.length);
    if (want === 0) return [];

    const owners = this.#owners;
    const next = this.#next;
    const q = this.partitions;
    const first = owners[partition] ?? 0;
    const found = [first];
    // A linear search beats a set for the short lists that requests ask for.
    const seen = want > 16 ? new Uint8Array(ids.length) : undefined;
    if (seen !== undefined) seen[first] = 1;

    let at = partition;
    let travelled = 0;
    while (found.length < want) {
      const to = next[at] ?? -1;
      if (to < 0) break;
      travelled += to > at ? to - at : to + q - at;
      if (travelled >= q) break;
      at = to;
      const o = owners[at] ?? 0;
      if (seen === undefined) {
        if (!found.includes(o)) found.push(o);
      } else if (seen[o] === 0) {
        seen[o] = 1;
        found.push(o);
      }
    }
    return found.map((i) => ids[i] ?? '');
  }

  /** The first `n` distinct members clockwise from the key's partition: its replicas. */
  preferenceList(key: Uint8Array, n: number): string[] {
    return this.walk(this.partitionOfKey(key), n);
  }

  /** The partitions `memberId` owns, ascending; empty if it owns none or is not a member. */
  partitionsOf(memberId: string): number[] {
    const index = this.#indexOf.get(memberId);
    const result: number[] = [];
    if (index === undefined) return result;
    const owners = this.#owners;
    for (let p = 0; p < owners.length; p++) {
      if (owners[p] === index) result.push(p);
    }
    return result;
  }

  #checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new ValidationError(
        `partition must be an integer from 0 to ${this.partitions - 1}, got ${String(partition)}`,
      );
    }
  }

  /**
   * Layout (little-endian): format u8, Q u32, S u32, then per member its UTF-8 id length
   * u32, id bytes and weight f64 (exact for safe integers), then every partition's owner
   * index u32. Lengths are explicit so no two memberships encode alike.
   */
  #computeChecksum(): string {
    const ids = this.members.map((m) => utf8.encode(m.id));
    const idBytes = ids.reduce((sum, b) => sum + b.length, 0);
    const bytes = new Uint8Array(9 + 12 * ids.length + idBytes + 4 * this.partitions);
    const view = new DataView(bytes.buffer);
    let at = 0;
    view.setUint8(at, CHECKSUM_FORMAT);
    at += 1;
    view.setUint32(at, this.partitions, true);
    at += 4;
    view.setUint32(at, ids.length, true);
    at += 4;
    this.members.forEach((m, i) => {
      const id = ids[i] ?? new Uint8Array(0);
      view.setUint32(at, id.length, true);
      at += 4;
      bytes.set(id, at);
      at += id.length;
      view.setFloat64(at, m.weight, true);
      at += 8;
    });
    for (const o of this.#owners) {
      view.setUint32(at, o, true);
      at += 4;
    }
    // x86's 128-bit variant is all 32-bit arithmetic, several times faster in JavaScript than
    // x64's emulated 64-bit words, which matters at Q = 65536.
    return murmur.x86.hash128(bytes, 0).slice(0, 16);
  }
}

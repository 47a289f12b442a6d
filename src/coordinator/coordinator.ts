/**
 * The request coordinator (§4.5): runs one client get or put against the key's preference
 * list, waits for R or W replicas, and repairs the stale replicas a read saw (§4.7).
 *
 * A put is coordinated by one of the key's owners, because the new version's dot must come
 * from a replica that holds the key's history (so its counter is fresh): a member outside the
 * preference list forwards the put to the first owner that answers.
 * @module
 */
import { DynamoError, ValidationError } from '../errors.js';
import type { Quorum } from '../config.js';
import type { Clock } from '../time/clock.js';
import type { Message } from '../transport/transport.js';
import type { Metrics } from '../metrics/metrics.js';
import { decodeVersions, encodeVersions } from '../codec/versions.js';
import { equivalent, sync, type CausalContext } from '../versioning/dvvset.js';
import { decodeContext, encodeContext } from '../versioning/context.js';
import type { ReplicaStore, StoredValue, Versions } from '../replica/replica-store.js';
import type { PutReply, ReadReply } from '../protocol/messages.js';
import { fanOut, type Outcome } from './fan-out.js';

/** What the coordinator needs from the member around it; nothing more. */
export interface CoordinatorDeps {
  /** This member's id. */
  readonly self: string;
  /** The causal identity this member's writes are stamped with (id plus storage epoch). */
  readonly actor: string;
  readonly clock: Clock;
  readonly replicas: ReplicaStore;
  readonly metrics: Metrics;
  readonly readRepair: boolean;
  /** The ids of the key's N owners, in ring order. */
  preferenceList(key: Uint8Array): string[];
  /** Sends a request to another member. */
  send(member: string, message: Message, timeoutMs: number): Promise<Message>;
  /** Keeps background work (read repair, late replication) visible to `stop()`. */
  track(work: Promise<unknown>): void;
  /** A read found stale replicas and sent them the merged versions. */
  onRepair(key: Uint8Array, replicas: readonly string[]): void;
  /** A read returned more than one sibling. */
  onConflict(key: Uint8Array, siblings: number): void;
}

export class Coordinator {
  readonly #deps: CoordinatorDeps;

  constructor(deps: CoordinatorDeps) {
    this.#deps = deps;
  }

  /**
   * Writes `value` (null: a tombstone) superseding what `context` covers. Resolves with the
   * context to write with next: the caller's context plus the new version's dot.
   */
  async put(key: Uint8Array, value: StoredValue, context: CausalContext, quorum: Quorum): Promise<CausalContext> {
    const owners = this.#deps.preferenceList(key);
    if (owners.length === 0) throw new DynamoError('UNREACHABLE', 'no members in the ring');
    if (owners.includes(this.#deps.self)) return this.coordinatePut(key, value, context, quorum, owners);
    return this.#forwardPut(key, value, context, quorum, owners);
  }

  /** Runs a put on this member as its coordinator (also used for puts forwarded to us). */
  async coordinatePut(
    key: Uint8Array,
    value: StoredValue,
    context: CausalContext,
    quorum: Quorum,
    owners = this.#deps.preferenceList(key),
  ): Promise<CausalContext> {
    const deps = this.#deps;
    const written = await deps.replicas.coordinate(key, context, deps.actor, value);
    const others = owners.filter((id) => id !== deps.self);
    const message = { type: 'replicate', key, versions: written.encoded };
    const fan = fanOut(others, (id) => deps.send(id, message, quorum.timeoutMs), {
      needed: Math.max(0, quorum.w - 1),
      alreadyAcked: 1,
      label: 'W',
      timeoutMs: quorum.timeoutMs,
      clock: deps.clock,
    });
    // Replicas beyond W keep being written after we answer; stop() waits for them.
    deps.track(fan.settled);
    await fan.quorum;
    return written.writer;
  }

  async #forwardPut(
    key: Uint8Array,
    value: StoredValue,
    context: CausalContext,
    quorum: Quorum,
    owners: readonly string[],
  ): Promise<CausalContext> {
    const deadline = this.#deps.clock.now() + quorum.timeoutMs;
    const message = {
      type: 'put',
      key,
      value,
      context: encodeContext(context),
      w: quorum.w,
      pw: quorum.pw,
      timeoutMs: quorum.timeoutMs,
    };
    let lastError: unknown;
    for (const owner of owners) {
      const remaining = Math.ceil(deadline - this.#deps.clock.now());
      if (remaining <= 0) break;
      try {
        const reply = await this.#deps.send(owner, message, remaining);
        if (reply.type !== 'put-reply' || typeof (reply as PutReply).context !== 'string') {
          throw new ValidationError(`member ${owner} answered a put with a malformed reply`);
        }
        return decodeContext((reply as PutReply).context);
      } catch (error) {
        // Only a refused connection proves the owner never saw the write; anything else
        // (a timeout, a quorum failure there) may have written it, and retrying elsewhere
        // would store the value twice under two dots.
        if (!(error instanceof DynamoError) || error.code !== 'UNREACHABLE') throw error;
        lastError = error;
      }
    }
    throw new DynamoError('UNREACHABLE', 'no owner of the key accepted the write', { cause: lastError });
  }

  /**
   * Reads R replicas and merges what they hold. `undefined` when none holds the key.
   * Replicas that answer after the quorum are still compared and repaired.
   */
  async get(key: Uint8Array, quorum: Quorum): Promise<Versions | undefined> {
    const deps = this.#deps;
    const owners = deps.preferenceList(key);
    const fan = fanOut(owners, (id) => this.#readReplica(id, key, quorum.timeoutMs), {
      needed: quorum.r,
      label: 'R',
      timeoutMs: quorum.timeoutMs,
      clock: deps.clock,
    });
    const outcomes = await fan.quorum;
    const merged = mergeOutcomes(outcomes);
    if (deps.readRepair) deps.track(fan.settled.then((all) => this.#repair(key, all, quorum.timeoutMs)));
    if (merged !== undefined) {
      const siblings = merged.values.reduce((n, v) => (v.value === null ? n : n + 1), 0);
      deps.metrics.increment('siblings_seen', siblings > 1 ? siblings : 0);
      if (siblings > 1) deps.onConflict(key, siblings);
    }
    return merged;
  }

  async #readReplica(id: string, key: Uint8Array, timeoutMs: number): Promise<Versions | undefined> {
    if (id === this.#deps.self) return this.#deps.replicas.read(key);
    const reply = await this.#deps.send(id, { type: 'read', key }, timeoutMs);
    const versions = (reply as ReadReply).versions;
    if (reply.type !== 'read-reply' || (versions !== null && !(versions instanceof Uint8Array))) {
      throw new ValidationError(`member ${id} answered a read with a malformed reply`);
    }
    return versions === null ? undefined : decodeVersions(versions);
  }

  /** Sends the merge of everything seen to every replica that answered with less (§4.7). */
  async #repair(key: Uint8Array, outcomes: readonly Outcome<Versions | undefined>[], timeoutMs: number): Promise<void> {
    const deps = this.#deps;
    const merged = mergeOutcomes(outcomes);
    if (merged === undefined) return;
    const stale = outcomes.filter(
      (o): o is Extract<Outcome<Versions | undefined>, { ok: true }> =>
        o.ok && (o.value === undefined || !equivalent(o.value, merged)),
    );
    if (stale.length === 0) return;
    const encoded = encodeVersions(merged);
    const message = { type: 'replicate', key, versions: encoded };
    const results = await Promise.allSettled(
      stale.map((o) =>
        o.target === deps.self ? deps.replicas.merge(key, merged) : deps.send(o.target, message, timeoutMs),
      ),
    );
    const repaired = stale.filter((_, i) => results[i]!.status === 'fulfilled').map((o) => o.target);
    if (repaired.length > 0) {
      deps.metrics.increment('read_repairs', repaired.length);
      deps.onRepair(key, repaired);
    }
  }
}

function mergeOutcomes(outcomes: readonly Outcome<Versions | undefined>[]): Versions | undefined {
  let merged: Versions | undefined;
  for (const o of outcomes) {
    if (!o.ok || o.value === undefined) continue;
    merged = merged === undefined ? o.value : sync(merged, o.value);
  }
  return merged;
}

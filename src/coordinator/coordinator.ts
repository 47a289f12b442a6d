/**
 * The request coordinator (§4.5): runs one client get or put against the first N reachable
 * members of the key's preference list (sloppy quorum, §4.6), waits for R or W of them
 * (and PR or PW true owners among them), and repairs the stale replicas a read saw (§4.7).
 *
 * A put is coordinated by one of its targets, because the new version's dot must come from
 * a replica holding the key's history: a member that is not a target forwards the put to
 * the first target that accepts it.
 * @module
 */
import { DynamoError, QuorumError, ValidationError } from '../errors.js';
import type { Quorum } from '../config.js';
import type { Clock } from '../time/clock.js';
import type { Message } from '../transport/transport.js';
import type { Metrics } from '../metrics/metrics.js';
import { decodeVersions, encodeVersions } from '../codec/versions.js';
import { equivalent, sync, type CausalContext } from '../versioning/dvvset.js';
import { decodeContext, encodeContext } from '../versioning/context.js';
import type { Coordinated, ReplicaStore, StoredValue, Versions } from '../replica/replica-store.js';
import type { HintStore } from '../handoff/hint-store.js';
import type { PutReply, ReadReply } from '../protocol/messages.js';
import { fanOut, type Outcome } from './fan-out.js';
import { sameBytes } from '../bytes.js';
import { primaries, selectTargets, type Target } from './targets.js';

/** What the coordinator needs from the member around it; nothing more. */
export interface CoordinatorDeps {
  /** This member's id. */
  readonly self: string;
  /** The causal identity this member's writes are stamped with (id plus storage epoch). */
  readonly actor: string;
  readonly n: number;
  readonly clock: Clock;
  readonly replicas: ReplicaStore;
  readonly hints: HintStore;
  readonly metrics: Metrics;
  readonly readRepair: boolean;
  /** A write leaving more versions than this is reported through `onConflict`. */
  readonly siblingsWarn: number;
  /** Every member in ring order from the key: its owners first, then the stand-ins. */
  walk(key: Uint8Array): string[];
  /** Whether this member believes `id` reachable. */
  isUp(id: string): boolean;
  /** Sends a request to another member. */
  send(member: string, message: Message, timeoutMs: number): Promise<Message>;
  /** Keeps background work (read repair, late replication) visible to `stop()`. */
  track(work: Promise<unknown>): void;
  /** A stand-in copy was stored here for `target`. */
  onHintStored(key: Uint8Array, target: string): void;
  /** A read found stale replicas and sent them the merged versions. */
  onRepair(key: Uint8Array, replicas: readonly string[]): void;
  /** A read returned more than one sibling, or a write left more than `siblingsWarn`. */
  onConflict(key: Uint8Array, siblings: number): void;
}

/** A replica write as the coordinator sends it. */
interface ReplicateMessage extends Message {
  readonly type: 'replicate';
  readonly key: Uint8Array;
  readonly versions: Uint8Array;
  readonly hint: string | null;
}

export class Coordinator {
  readonly #deps: CoordinatorDeps;

  constructor(deps: CoordinatorDeps) {
    this.#deps = deps;
  }

  /** The members a request for `key` goes to now, owners first. */
  targets(key: Uint8Array): Target[] {
    return selectTargets(this.#deps.walk(key), this.#deps.n, (id) => id === this.#deps.self || this.#deps.isUp(id));
  }

  /**
   * Writes `value` (null: a tombstone) superseding what `context` covers. Resolves with the
   * context to write with next: the caller's context plus the new version's dot.
   */
  put(key: Uint8Array, value: StoredValue, context: CausalContext, quorum: Quorum): Promise<CausalContext> {
    // Not an async function: it would wrap the promise it returns in one more.
    try {
      const targets = this.targets(key);
      const self = targets.find((t) => t.id === this.#deps.self);
      if (self !== undefined) return this.coordinatePut(key, value, context, quorum, self, targets);
      if (targets.length === 0) return Promise.reject(new QuorumError('no reachable member for the key', quorum.w, 0));
      return this.#forwardPut(key, value, context, quorum, targets);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs a put with this member as its coordinator (also for puts forwarded here): write
   * locally as `as` says (owner or stand-in) and replicate to the other targets. As an owner
   * on a storage that writes asynchronously, the new version goes out as soon as it exists,
   * while it is being stored here, and the local write counts toward W like any replica's:
   * a LevelDB round trip less on the way to the answer. If the local write then fails, the
   * replicas that took the version keep it, as after any write that missed its quorum.
   */
  async coordinatePut(
    key: Uint8Array,
    value: StoredValue,
    context: CausalContext,
    quorum: Quorum,
    as: Target,
    targets = this.targets(key),
  ): Promise<CausalContext> {
    const deps = this.#deps;
    let written: Coordinated;
    /** The local write while it is still being stored; undefined once it is. */
    let storing: Promise<Coordinated> | undefined;
    if (as.hintFor !== undefined) {
      written = await deps.hints.coordinate(key, as.hintFor, context, deps.actor, value);
      deps.onHintStored(key, as.hintFor);
    } else if (deps.replicas.synchronous) {
      written = await deps.replicas.coordinate(key, context, deps.actor, value);
    } else {
      // The version once it exists (onReady), or the local write's failure before it does,
      // which fails the put: nothing was sent. (One promise, not a second and a race.)
      written = await new Promise<Coordinated>((resolve, reject) => {
        storing = deps.replicas.coordinate(key, context, deps.actor, value, resolve);
        storing.catch(reject);
      });
    }
    if (written.set.values.length > deps.siblingsWarn) deps.onConflict(key, written.set.values.length);
    const others = targets.filter((t) => t.id !== deps.self);
    /** Shared by the targets of this put, made only when one refuses. */
    let standIns: (() => string | undefined) | undefined;
    // Not an async function: one runs per replica of every put, and the refusal that needs
    // more than one send is rare.
    const replicate = (t: Target): Promise<Target> => {
      const message: ReplicateMessage = { type: 'replicate', key, versions: written.encoded, hint: t.hintFor ?? null };
      return deps.send(t.id, message, quorum.timeoutMs).then(
        () => t,
        (error: unknown) => this.#handOn(error, t, message, (standIns ??= this.#standIns(key, targets)), quorum.timeoutMs),
      );
    };
    const local = storing;
    const fan = fanOut(
      local === undefined ? others : [as, ...others],
      local === undefined ? replicate : (t) => (t === as ? local.then(() => as) : replicate(t)),
      {
        primary: (_target, acked) => acked.hintFor === undefined,
        needed: local === undefined ? Math.max(0, quorum.w - 1) : quorum.w,
        alreadyAcked: local === undefined ? 1 : 0,
        neededPrimaries: quorum.pw,
        alreadyAckedPrimaries: local === undefined && as.hintFor === undefined ? 1 : 0,
        label: 'W',
        timeoutMs: quorum.timeoutMs,
        clock: deps.clock,
      },
    );
    deps.metrics.increment('sloppy_fallbacks', targets.length - primaries(targets));
    // Replicas beyond W keep being written after we answer; stop() waits for them.
    deps.track(fan.settled);
    await fan.quorum;
    return written.writer;
  }

  /**
   * After `refused` failed to take a replica write: if it refused outright (it died since we
   * chose it), the copy goes to the next stand-in, and the next, until one takes it, rather
   * than leave the key a replica short (§4.6). Any other error is the answer.
   */
  async #handOn(error: unknown, refused: Target, message: ReplicateMessage, standIns: () => string | undefined, timeoutMs: number): Promise<Target> {
    for (;;) {
      const standIn = error instanceof DynamoError && error.code === 'UNREACHABLE' ? standIns() : undefined;
      if (standIn === undefined) throw error;
      const target = { id: standIn, hintFor: refused.hintFor ?? refused.id };
      try {
        await this.#deps.send(target.id, { ...message, hint: target.hintFor }, timeoutMs);
        return target;
      } catch (next) {
        error = next;
      }
    }
  }

  /** Hands out, one at a time, reachable members past the targets, in ring order. */
  #standIns(key: Uint8Array, targets: readonly Target[]): () => string | undefined {
    // Built on first use: almost every put needs no stand-in.
    let walk: string[] | undefined;
    let used: Set<string> | undefined;
    let next = 0;
    return () => {
      walk ??= this.#deps.walk(key);
      used ??= new Set(targets.map((t) => t.id));
      while (next < walk.length) {
        const id = walk[next++]!;
        if (!used.has(id) && id !== this.#deps.self && this.#deps.isUp(id)) {
          used.add(id);
          return id;
        }
      }
      return undefined;
    };
  }

  async #forwardPut(key: Uint8Array, value: StoredValue, context: CausalContext, quorum: Quorum, targets: readonly Target[]): Promise<CausalContext> {
    const deadline = this.#deps.clock.now() + quorum.timeoutMs;
    let lastError: unknown;
    for (const target of targets) {
      const remaining = Math.ceil(deadline - this.#deps.clock.now());
      if (remaining <= 0) break;
      const message = {
        type: 'put',
        key,
        value,
        context: encodeContext(context),
        hint: target.hintFor ?? null,
        w: quorum.w,
        pw: quorum.pw,
        timeoutMs: remaining,
      };
      try {
        const reply = await this.#deps.send(target.id, message, remaining);
        if (reply.type !== 'put-reply' || typeof (reply as PutReply).context !== 'string') {
          throw new ValidationError(`member ${target.id} answered a put with a malformed reply`);
        }
        return decodeContext((reply as PutReply).context);
      } catch (error) {
        // Only a refused connection proves the target never saw the write; anything else
        // (a timeout, a quorum failure there) may have written it, and retrying elsewhere
        // would store the value twice under two dots.
        if (!(error instanceof DynamoError) || error.code !== 'UNREACHABLE') throw error;
        lastError = error;
      }
    }
    throw new QuorumError('no member for the key accepted the write', quorum.w, 0, { cause: lastError });
  }

  /**
   * Reads the key's targets and merges what R of them hold; `undefined` when none holds
   * it. Targets that answer after the quorum are still compared and repaired.
   */
  async get(key: Uint8Array, quorum: Quorum): Promise<Versions | undefined> {
    const deps = this.#deps;
    const targets = this.targets(key);
    // Replicas in sync hold the same bytes (the encoding is canonical), so each answer is
    // decoded only if it differs from the first: then merging it and comparing it for read
    // repair are one identity check.
    const answers = new AnswerDecoder();
    const fan = fanOut(targets, (t) => this.#readReplica(t.id, key, quorum.timeoutMs, answers), {
      needed: quorum.r,
      neededPrimaries: quorum.pr,
      label: 'R',
      timeoutMs: quorum.timeoutMs,
      clock: deps.clock,
    });
    const outcomes = await fan.quorum;
    const merged = mergeOutcomes(outcomes);
    if (deps.readRepair) deps.track(fan.settled.then((all) => this.#repair(key, all, quorum.timeoutMs)));
    if (merged !== undefined) {
      const siblings = merged.values.reduce((n, v) => (v.value === null ? n : n + 1), 0);
      if (siblings > 1) {
        deps.metrics.increment('siblings_seen', siblings);
        deps.onConflict(key, siblings);
      }
    }
    return merged;
  }

  /** This member's copy of `key`: its replica merged with any hints it holds for the key. */
  readLocal(key: Uint8Array): Promise<Versions | undefined> {
    const own = this.#deps.replicas.read(key);
    if (!this.#deps.hints.holds(key)) return own;
    return Promise.all([own, this.#deps.hints.read(key)]).then(([mine, hinted]) => {
      if (hinted === undefined) return mine;
      return mine === undefined ? hinted : sync(mine, hinted);
    });
  }

  #readReplica(id: string, key: Uint8Array, timeoutMs: number, answers: AnswerDecoder): Promise<Versions | undefined> {
    if (id === this.#deps.self) {
      if (this.#deps.hints.holds(key)) return this.readLocal(key);
      return this.#deps.replicas.readEncoded(key).then((bytes) => answers.decode(bytes));
    }
    return this.#deps.send(id, { type: 'read', key }, timeoutMs).then((reply) => {
      const versions = (reply as ReadReply).versions;
      if (reply.type !== 'read-reply' || (versions !== null && !(versions instanceof Uint8Array))) {
        throw new ValidationError(`member ${id} answered a read with a malformed reply`);
      }
      return answers.decode(versions ?? undefined);
    });
  }

  /** Sends the merge of everything seen to every target that answered with less (§4.7). */
  async #repair(key: Uint8Array, outcomes: readonly Outcome<Versions | undefined>[], timeoutMs: number): Promise<void> {
    const deps = this.#deps;
    const merged = mergeOutcomes(outcomes);
    if (merged === undefined) return;
    const stale = outcomes.filter(
      (o): o is Extract<Outcome<Versions | undefined>, { ok: true }> =>
        o.ok && (o.value === undefined || (o.value !== merged && !equivalent(o.value, merged))),
    );
    if (stale.length === 0) return;
    const encoded = encodeVersions(merged);
    const results = await Promise.allSettled(
      stale.map(({ target }) => {
        if (target.id !== deps.self) {
          return deps.send(target.id, { type: 'replicate', key, versions: encoded, hint: target.hintFor ?? null }, timeoutMs);
        }
        return target.hintFor === undefined
          ? deps.replicas.merge(key, merged, encoded)
          : deps.hints.merge(key, target.hintFor, merged, encoded);
      }),
    );
    const repaired = stale.filter((_, i) => results[i]!.status === 'fulfilled').map((o) => o.target.id);
    if (repaired.length > 0) {
      deps.metrics.increment('read_repairs', repaired.length);
      deps.onRepair(key, repaired);
    }
  }
}

function mergeOutcomes(outcomes: readonly Outcome<Versions | undefined>[]): Versions | undefined {
  let merged: Versions | undefined;
  for (const o of outcomes) {
    if (!o.ok || o.value === undefined || o.value === merged) continue;
    merged = merged === undefined ? o.value : sync(merged, o.value);
  }
  return merged;
}

/**
 * Decodes the answers of one read. An answer byte for byte equal to the first decoded comes
 * back as that very object; anything else is decoded (and so validated) on its own.
 */
class AnswerDecoder {
  #bytes: Uint8Array | undefined;
  #versions: Versions | undefined;

  decode(bytes: Uint8Array | undefined): Versions | undefined {
    if (bytes === undefined) return undefined;
    const first = this.#bytes;
    if (first !== undefined && sameBytes(first, bytes)) return this.#versions;
    const versions = decodeVersions(bytes, { copy: false });
    if (first === undefined) {
      this.#bytes = bytes;
      this.#versions = versions;
    }
    return versions;
  }
}

/**
 * Serves the requests peers send this member: replica reads and writes, forwarded puts,
 * gossip and anti-entropy. Every message is validated (protocol/messages.ts) before it
 * reaches the part that serves it.
 * @module
 */
import type { Message } from '../transport/transport.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import type { ReplicaStore } from '../replica/replica-store.js';
import type { HintStore } from '../handoff/hint-store.js';
import type { Membership } from '../membership/membership.js';
import type { AntiEntropy } from '../anti-entropy/exchange.js';
import { decodeVersions, encodeVersions } from '../codec/versions.js';
import { EMPTY_CONTEXT } from '../versioning/dvvset.js';
import { decodeContext, encodeContext } from '../versioning/context.js';
import { parseRequest, type MessageLimits, type Request } from './messages.js';
import type { Versions } from '../replica/replica-store.js';
import type { ReplicaOperationName } from '../metrics/metrics.js';
import type { Clock } from '../time/clock.js';

export interface RequestHandlerDeps {
  readonly self: string;
  readonly r: number;
  readonly limits: MessageLimits;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly coordinator: Coordinator;
  readonly replicas: ReplicaStore;
  readonly hints: HintStore;
  readonly membership: Membership;
  readonly antiEntropy: AntiEntropy;
  /** The key's N owners as this member sees them. */
  owners(key: Uint8Array): string[];
  onHintStored(key: Uint8Array, target: string): void;
}

export function createRequestHandler(deps: RequestHandlerDeps): (message: Message) => Promise<Message> {
  // Replica reads and writes, the bulk of the traffic, go without an async function of their
  // own: each would cost a promise and a suspended frame per request.
  return (message) => {
    let request: Request;
    try {
      request = parseRequest(message, deps.limits);
    } catch (error) {
      return Promise.reject(error);
    }
    switch (request.type) {
      case 'read':
        return serveRead(deps, request.key);
      case 'replicate':
        return serveReplicate(deps, request.key, request.hint, request.versions);
      default:
        return serveOther(deps, request);
    }
  };
}

async function serveOther(deps: RequestHandlerDeps, request: Exclude<Request, { type: 'read' | 'replicate' }>): Promise<Message> {
  switch (request.type) {
    case 'put': {
      const quorum = { r: deps.r, w: request.w, pr: 0, pw: request.pw, timeoutMs: request.timeoutMs };
      const context = request.context === null ? EMPTY_CONTEXT : decodeContext(request.context);
      const owners = deps.owners(request.key);
      // Chosen though not an owner in our own view: keep the copy as a hint.
      const hintFor = owners.includes(deps.self) ? undefined : (request.hint ?? owners[0]);
      const as = hintFor === undefined ? { id: deps.self } : { id: deps.self, hintFor };
      const written = await deps.coordinator.coordinatePut(request.key, request.value, context, quorum, as);
      return { type: 'put-reply', context: encodeContext(written) };
    }
    case 'gossip':
      return deps.membership.handleGossip(request);
    case 'reap':
      await deps.replicas.deleteIfUnchanged(request.key, request.versions);
      return ACK;
    case 'ae-roots':
      return deps.antiEntropy.compareRoots(request.partitions, request.roots);
    case 'ae-leaves':
      return deps.antiEntropy.compareLeaves(request.partition, request.leaves);
    case 'ae-keys':
      return deps.antiEntropy.compareKeys(request.partition, request.leaves, request.entries);
    case 'ae-push':
      await deps.antiEntropy.accept(request.records);
      return ACK;
  }
}

const ACK: Message = Object.freeze({ type: 'ack' });

/** A replica read: the key's copy here, merged with any stand-in copy this member holds. */
function serveRead(deps: RequestHandlerDeps, key: Uint8Array): Promise<Message> {
  deps.metrics.increment('replica_reads');
  const started = deps.clock.now();
  const hinted = deps.hints.holds(key);
  if (!hinted && deps.replicas.synchronous) {
    // Answered before returning: one settled promise, no chain.
    try {
      const reply = readReply(deps.replicas.readEncodedNow(key));
      deps.metrics.observeReplica('read', deps.clock.now() - started, true);
      return Promise.resolve(reply);
    } catch (error) {
      deps.metrics.observeReplica('read', deps.clock.now() - started, false);
      return Promise.reject(error);
    }
  }
  if (!hinted) return measured(deps, 'read', started, deps.replicas.readEncoded(key), readReply);
  return measured(deps, 'read', started, deps.coordinator.readLocal(key), (merged) => readReply(merged === undefined ? undefined : encodeVersions(merged)));
}

function readReply(versions: Uint8Array | undefined): Message {
  return { type: 'read-reply', versions: versions ?? null };
}

/** ACK, settled once for all: a write done at once answers with it and makes no promise. */
const ACKED: Promise<Message> = Promise.resolve(ACK);

/** A replica write: merged into this member's copy, or kept as a hint for `hint`. */
function serveReplicate(deps: RequestHandlerDeps, key: Uint8Array, hint: string | null, bytes: Uint8Array): Promise<Message> {
  deps.metrics.increment('replica_writes');
  const started = deps.clock.now();
  let versions: Versions;
  try {
    versions = decodeVersions(bytes, { copy: false });
    if ((hint === null || hint === deps.self) && deps.replicas.mergeNow(key, versions, bytes) !== undefined) {
      deps.metrics.observeReplica('write', deps.clock.now() - started, true);
      return ACKED;
    }
  } catch (error) {
    deps.metrics.observeReplica('write', deps.clock.now() - started, false);
    return Promise.reject(error);
  }
  if (hint === null || hint === deps.self) return measured(deps, 'write', started, deps.replicas.merge(key, versions, bytes), ack);
  return measured(deps, 'write', started, deps.hints.merge(key, hint, versions, bytes), () => {
    deps.onHintStored(key, hint);
    return ACK;
  });
}

function ack(): Message {
  return ACK;
}

/**
 * The answer `answer` makes of `work`'s result, with the latency since `started` recorded as
 * a replica-side `op` (a failure if `work` fails or `answer` throws): one `then` for both.
 */
function measured<T>(deps: RequestHandlerDeps, op: ReplicaOperationName, started: number, work: Promise<T>, answer: (result: T) => Message): Promise<Message> {
  return work.then(
    (result) => {
      let reply: Message;
      try {
        reply = answer(result);
      } catch (error) {
        deps.metrics.observeReplica(op, deps.clock.now() - started, false);
        throw error;
      }
      deps.metrics.observeReplica(op, deps.clock.now() - started, true);
      return reply;
    },
    (error: unknown) => {
      deps.metrics.observeReplica(op, deps.clock.now() - started, false);
      throw error;
    },
  );
}

/**
 * The messages members exchange, and their validation. Everything that arrives from the
 * network is checked here before it reaches a handler: a malformed message is answered
 * with a `ValidationError`, never a crash.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Message } from '../transport/transport.js';

/** A member as gossiped: identity, weight on the ring, liveness and its version. */
export interface MemberState {
  readonly id: string;
  readonly address: string;
  readonly vnodes: number;
  /**
   * What the member says of itself (or, for `left` after `remove`, an operator said of it):
   * `leaving` members hand their data over and own no partition; `left` ones are gone.
   * Whether a member is reachable is each observer's own opinion, never gossiped.
   */
  readonly status: 'up' | 'leaving' | 'left';
  /** Bumped by the member at each start; a higher incarnation wins whatever the heartbeat. */
  readonly incarnation: number;
  /** Bumped by the member every gossip round; its advance is the failure detector's input. */
  readonly heartbeat: number;
}

/** Read one key's replica. Answer: {@link ReadReply}. */
export interface ReadRequest extends Message {
  readonly type: 'read';
  readonly key: Uint8Array;
}
export interface ReadReply extends Message {
  readonly type: 'read-reply';
  /** Encoded versions (codec/versions.ts), or null when the replica has none. */
  readonly versions: Uint8Array | null;
}

/** Merge these versions into your replica (replication, read repair). Answer: {@link Ack}. */
export interface ReplicateRequest extends Message {
  readonly type: 'replicate';
  readonly key: Uint8Array;
  readonly versions: Uint8Array;
  /** Set when the receiver is a stand-in: the owner it keeps this copy for (a hint). */
  readonly hint: string | null;
}
export interface Ack extends Message {
  readonly type: 'ack';
}

/** Coordinate this write for me (the sender is not among the key's owners). Answer: {@link PutReply}. */
export interface PutRequest extends Message {
  readonly type: 'put';
  readonly key: Uint8Array;
  /** The encoded user value, or null for a delete. */
  readonly value: Uint8Array | null;
  readonly context: string | null;
  /** Set when the receiver was chosen as a stand-in for this owner. */
  readonly hint: string | null;
  readonly w: number;
  readonly pw: number;
  readonly timeoutMs: number;
}
export interface PutReply extends Message {
  readonly type: 'put-reply';
  readonly context: string;
}

/**
 * Push-pull gossip, also how a member joins through a seed: here is the table I know,
 * answer with yours. Answer: {@link MembersReply}.
 */
export interface GossipRequest extends Message {
  readonly type: 'gossip';
  readonly members: readonly MemberState[];
  /** Cluster-wide settings that must agree; a member with others is refused. */
  readonly partitions: number;
  readonly n: number;
}
export interface MembersReply extends Message {
  readonly type: 'members';
  readonly members: readonly MemberState[];
}

/** Anti-entropy: which of these partitions' roots differ from yours? Answer: `ae-differ`. */
export interface AeRootsRequest extends Message {
  readonly type: 'ae-roots';
  readonly partitions: readonly number[];
  /** 8 bytes per partition. */
  readonly roots: Uint8Array;
}
/** Anti-entropy: which segments of this partition differ? Answer: `ae-differ`. */
export interface AeLeavesRequest extends Message {
  readonly type: 'ae-leaves';
  readonly partition: number;
  readonly leaves: Uint8Array;
}
/** Anti-entropy: my keys and digests in these segments. Answer: `ae-records`. */
export interface AeKeysRequest extends Message {
  readonly type: 'ae-keys';
  readonly partition: number;
  readonly leaves: readonly number[];
  readonly entries: readonly (readonly [Uint8Array, Uint8Array])[];
}
/** Anti-entropy: the records you asked for. Answer: {@link Ack}. */
export interface AePushRequest extends Message {
  readonly type: 'ae-push';
  readonly records: readonly (readonly [Uint8Array, Uint8Array])[];
}

/** Tombstone collection: delete this key if you hold exactly these versions. Answer: {@link Ack}. */
export interface ReapRequest extends Message {
  readonly type: 'reap';
  readonly key: Uint8Array;
  readonly versions: Uint8Array;
}

export type Request =
  | ReapRequest
  | ReadRequest
  | ReplicateRequest
  | PutRequest
  | GossipRequest
  | AeRootsRequest
  | AeLeavesRequest
  | AeKeysRequest
  | AePushRequest;

function fail(message: string): never {
  throw new ValidationError(`malformed message: ${message}`);
}

function bytes(value: unknown, field: string, maxBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(`${field} must be bytes`);
  if (value.length > maxBytes) fail(`${field} is ${value.length} bytes, over ${maxBytes}`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function string(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    fail(`${field} must be a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

function integers(value: unknown, field: string, maxCount: number, max: number): number[] {
  if (!Array.isArray(value) || value.length > maxCount) fail(`${field} must be an array of at most ${maxCount}`);
  return value.map((v, i) => integer(v, `${field}[${i}]`, 0, max));
}

function keyedList(value: unknown, field: string, maxKey: number, maxBytes: number): [Uint8Array, Uint8Array][] {
  if (!Array.isArray(value) || value.length > 1_000_000) fail(`${field} must be an array`);
  return value.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2) fail(`${field}[${i}] must be a [key, bytes] pair`);
    return [bytes(entry[0], `${field}[${i}][0]`, maxKey), bytes(entry[1], `${field}[${i}][1]`, maxBytes)];
  });
}

function optionalId(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : string(value, field, 256);
}

const STATUSES = new Set(['up', 'leaving', 'left']);

/** Validates a gossiped member state. */
export function parseMemberState(value: unknown): MemberState {
  if (value === null || typeof value !== 'object') fail('member must be an object');
  const m = value as Record<string, unknown>;
  const status = m['status'];
  if (typeof status !== 'string' || !STATUSES.has(status)) fail('member.status is unknown');
  return {
    id: string(m['id'], 'member.id', 256),
    address: string(m['address'], 'member.address', 1024),
    vnodes: integer(m['vnodes'], 'member.vnodes', 1, 65536),
    status: status as MemberState['status'],
    incarnation: integer(m['incarnation'], 'member.incarnation', 0, Number.MAX_SAFE_INTEGER),
    heartbeat: integer(m['heartbeat'], 'member.heartbeat', 0, Number.MAX_SAFE_INTEGER),
  };
}

/** Largest member table accepted from a peer. */
const MAX_MEMBERS = 4096;

/** Validates a gossiped member table. */
export function parseMembers(value: unknown): MemberState[] {
  if (!Array.isArray(value) || value.length > MAX_MEMBERS) fail(`members must be an array of at most ${MAX_MEMBERS}`);
  return value.map(parseMemberState);
}

/** Limits a receiver applies to what it is sent. */
export interface MessageLimits {
  readonly maxKeyBytes: number;
  /** Largest encoded versions record accepted (values plus their siblings). */
  readonly maxRecordBytes: number;
}

/** Validates an incoming request; throws `ValidationError` for anything unknown or malformed. */
export function parseRequest(message: Message, limits: MessageLimits): Request {
  const m = message as unknown as Record<string, unknown>;
  switch (m['type']) {
    case 'read':
      return { type: 'read', key: bytes(m['key'], 'key', limits.maxKeyBytes) };
    case 'replicate':
      return {
        type: 'replicate',
        key: bytes(m['key'], 'key', limits.maxKeyBytes),
        versions: bytes(m['versions'], 'versions', limits.maxRecordBytes),
        hint: optionalId(m['hint'], 'hint'),
      };
    case 'put': {
      const context = m['context'];
      if (context !== null && typeof context !== 'string') fail('context must be a string or null');
      const value = m['value'] === null ? null : bytes(m['value'], 'value', limits.maxRecordBytes);
      const w = integer(m['w'], 'w', 1, 64);
      return {
        type: 'put',
        key: bytes(m['key'], 'key', limits.maxKeyBytes),
        value,
        context,
        hint: optionalId(m['hint'], 'hint'),
        w,
        pw: integer(m['pw'], 'pw', 0, w),
        timeoutMs: integer(m['timeoutMs'], 'timeoutMs', 1, 3_600_000),
      };
    }
    case 'gossip':
      return {
        type: 'gossip',
        members: parseMembers(m['members']),
        partitions: integer(m['partitions'], 'partitions', 1, 65536),
        n: integer(m['n'], 'n', 1, 64),
      };
    case 'reap':
      return {
        type: 'reap',
        key: bytes(m['key'], 'key', limits.maxKeyBytes),
        versions: bytes(m['versions'], 'versions', limits.maxRecordBytes),
      };
    case 'ae-roots': {
      const partitions = integers(m['partitions'], 'partitions', 65536, 65535);
      const roots = bytes(m['roots'], 'roots', 8 * 65536);
      if (roots.length !== partitions.length * 8) fail('roots must hold 8 bytes per partition');
      return { type: 'ae-roots', partitions, roots };
    }
    case 'ae-leaves':
      return {
        type: 'ae-leaves',
        partition: integer(m['partition'], 'partition', 0, 65535),
        leaves: bytes(m['leaves'], 'leaves', 8 * 65536),
      };
    case 'ae-keys':
      return {
        type: 'ae-keys',
        partition: integer(m['partition'], 'partition', 0, 65535),
        leaves: integers(m['leaves'], 'leaves', 65536, 65535),
        entries: keyedList(m['entries'], 'entries', limits.maxKeyBytes, 8),
      };
    case 'ae-push':
      return { type: 'ae-push', records: keyedList(m['records'], 'records', limits.maxKeyBytes, limits.maxRecordBytes) };
    default:
      return fail(`unknown type ${JSON.stringify(String(m['type'])).slice(0, 40)}`);
  }
}

/** Validates a reply of the expected type. */
export function expectReply<T extends Message>(message: Message, type: T['type']): T {
  if (message === null || typeof message !== 'object' || message.type !== type) {
    fail(`expected a ${String(type)} reply`);
  }
  return message as T;
}

/**
 * The events a {@link Dynamo} member emits, with their payloads.
 * @module
 */
import type { MemberInfo } from './membership/member-table.js';

/** Payload of `ring:changed`. */
export interface RingChangedEvent {
  /** Digest of the new ring: members that agree on it have equal checksums. */
  readonly checksum: string;
  /** Ids of the members on the ring. */
  readonly members: readonly string[];
}

/** Payload of `repair`. */
export interface RepairEvent {
  /** The key's bytes (UTF-8 of a string key). */
  readonly key: Uint8Array;
  /** Members that held stale versions and were sent the merged ones. */
  readonly replicas: readonly string[];
}

/** Payload of `conflict`. */
export interface ConflictEvent {
  /** The key's bytes (UTF-8 of a string key). */
  readonly key: Uint8Array;
  /** Concurrent values a read returned, or a write left. */
  readonly siblings: number;
  /** Past the member's `siblingsWarn`: writers are probably not passing their read's context. */
  readonly overWarning: boolean;
}

/** Payload of `hint:stored` and `hint:delivered`. */
export interface HintEvent {
  /** The key's bytes (UTF-8 of a string key). */
  readonly key: Uint8Array;
  /** The member the hint is for. */
  readonly target: string;
}

/** Payload of `sync`: one anti-entropy round. */
export interface SyncReport {
  /** Id of the member this one exchanged with. */
  readonly peer: string;
  /** Partitions whose Merkle roots were compared (those both members replicate, or those handed off). */
  readonly rangesCompared: number;
  /** Keys found to differ between the two replicas: missing on one side or held in different versions. */
  readonly keysDiffering: number;
  /** Records this member pushed to the peer. */
  readonly keysSent: number;
  /** Records this member received from the peer and merged (0 when handing data off). */
  readonly keysReceived: number;
  /**
   * Approximate payload bytes this member sent: digests, listed keys and pushed records,
   * without the framing and encoding overhead of the messages.
   */
  readonly bytesSent: number;
}

/** Event names and listener signatures (EventEmitter3's typed map). */
export interface DynamoEvents {
  /** A member is reachable again (or was seen for the first time as up). */
  'member:up': [member: MemberInfo];
  /** A member is believed down. */
  'member:down': [member: MemberInfo];
  /** A member joined the cluster (this member learned of it). */
  'member:joined': [member: MemberInfo];
  /** A member left the cluster for good. */
  'member:left': [member: MemberInfo];
  /** The ring was rebuilt from a new membership. */
  'ring:changed': [event: RingChangedEvent];
  /** This member stored a copy for an unreachable owner (as a stand-in). */
  'hint:stored': [event: HintEvent];
  /** A hint reached its owner and was dropped here. */
  'hint:delivered': [event: HintEvent];
  /** A hint was dropped undelivered, to stay within `maxHints` (anti-entropy repairs it). */
  'hint:dropped': [event: HintEvent];
  /** A read found stale replicas and repaired them. */
  repair: [event: RepairEvent];
  /** A read returned concurrent siblings. */
  conflict: [event: ConflictEvent];
  /** An anti-entropy exchange with a peer (or a handoff of partitions to a new owner) finished. */
  sync: [report: SyncReport];
}

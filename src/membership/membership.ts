/**
 * Membership (§4.8): joining through seeds, push-pull gossip of the member table with a
 * random peer every round, and liveness from a phi-accrual failure detector fed by the
 * heartbeats gossip carries.
 *
 * Every member builds the ring from the table alone (ring/ring.ts is a pure function of
 * the members and their weights), so members that agree on the table agree on every
 * preference list with no further coordination. Liveness is each member's own opinion and
 * is not gossiped: it only decides whom a request skips (sloppy quorum, §4.6).
 * @module
 */
import { DynamoError, ValidationError } from '../errors.js';
import type { Clock } from '../time/clock.js';
import { Periodic } from '../time/periodic.js';
import { randomInt, type Random } from '../time/random.js';
import type { Message } from '../transport/transport.js';
import { Ring } from '../ring/ring.js';
import { parseMembers, type GossipRequest, type MemberState, type MembersReply } from '../protocol/messages.js';
import { MemberTable, type MemberInfo } from './member-table.js';
import { FailureDetector } from './failure-detector.js';

export interface MembershipDeps {
  readonly self: MemberState;
  readonly partitions: number;
  readonly n: number;
  readonly gossipIntervalMs: number;
  readonly phiThreshold: number;
  readonly clock: Clock;
  readonly random: Random;
  /** Sends a request to an address (seeds are known by address only). */
  request(address: string, message: Message, timeoutMs: number): Promise<Message>;
  onJoined(member: MemberInfo): void;
  onUp(member: MemberInfo): void;
  onDown(member: MemberInfo): void;
  onLeft(member: MemberInfo): void;
  onRingChanged(ring: Ring): void;
  /** A gossip round began. */
  onRound?(): void;
}

export class Membership {
  readonly #deps: MembershipDeps;
  readonly table: MemberTable;
  readonly #detector: FailureDetector;
  /** Members this one believes down. */
  readonly #down = new Set<string>();
  /** Down members being asked directly whether they are back. */
  readonly #probing = new Set<string>();
  #ring: Ring;
  readonly #gossip: Periodic;
  #rounds = 0;

  constructor(deps: MembershipDeps) {
    this.#deps = deps;
    this.table = new MemberTable(deps.self);
    this.#detector = new FailureDetector({
      threshold: deps.phiThreshold,
      windowSize: 100,
      initialIntervalMs: deps.gossipIntervalMs,
      // Two rounds of silence are normal in any gossip schedule: never suspect sooner.
      minSilenceMs: 2 * deps.gossipIntervalMs,
    });
    this.#ring = this.#buildRing();
    this.#gossip = new Periodic(deps.clock, deps.gossipIntervalMs, () => this.#round());
  }

  get ring(): Ring {
    return this.#ring;
  }

  /** Gossip rounds this member has started. */
  get rounds(): number {
    return this.#rounds;
  }

  /** Whether this member believes `id` reachable. */
  isUp(id: string): boolean {
    return !this.#down.has(id);
  }

  /** The public view of a member, liveness included. */
  info(state: MemberState): MemberInfo {
    const status = state.status === 'up' ? (this.#down.has(state.id) ? 'down' : 'up') : 'leaving';
    return { id: state.id, address: state.address, status, vnodes: state.vnodes };
  }

  /** Members that have not left, this one included. */
  current(): MemberState[] {
    return this.table.list().filter((m) => m.status !== 'left');
  }

  /** Announces this member's own status (`leaving`, then `left`); the ring follows. */
  announce(status: MemberState['status']): void {
    const self = this.table.self;
    this.table.setSelf({ ...self, status, heartbeat: self.heartbeat + 1 });
    this.#rebuild();
  }

  /** Tells `count` live peers this member's news now, rather than waiting for gossip. */
  async spread(count: number): Promise<void> {
    const peers = this.current().filter((m) => m.id !== this.#deps.self.id && this.isUp(m.id)).slice(0, count);
    await Promise.allSettled(peers.map((m) => this.#exchange(m.address, this.#deps.gossipIntervalMs * 5)));
  }

  /**
   * An operator's removal of a dead member for good: its entry becomes `left` with a higher
   * incarnation, which gossip spreads; the ring no longer counts it.
   */
  remove(id: string): void {
    const state = this.table.get(id);
    if (state === undefined || id === this.#deps.self.id) throw new ValidationError(`no other member ${JSON.stringify(id)} to remove`);
    if (state.status === 'left') return;
    const removed: MemberState = { ...state, status: 'left', incarnation: state.incarnation + 1, heartbeat: Number.MAX_SAFE_INTEGER };
    this.table.impose(removed);
    this.#down.delete(id);
    this.#detector.forget(id);
    this.#deps.onLeft(this.info(removed));
    this.#rebuild();
  }

  /**
   * Exchanges tables with every seed. Unreachable seeds are skipped (they learn of us when
   * they start, or through gossip); a seed whose cluster has other settings makes this
   * reject with `ValidationError`.
   */
  async join(seeds: readonly string[], timeoutMs: number): Promise<void> {
    const others = [...new Set(seeds)].filter((s) => s !== this.#deps.self.address);
    const results = await Promise.allSettled(others.map((seed) => this.#exchange(seed, timeoutMs)));
    for (const result of results) {
      if (result.status === 'rejected' && result.reason instanceof DynamoError && result.reason.code === 'INVALID_ARGUMENT') {
        throw result.reason;
      }
    }
  }

  /** Starts periodic gossip. */
  start(): void {
    this.#gossip.start();
  }

  stop(): void {
    this.#gossip.stop();
  }

  /** Answers a peer's gossip (or join): merge its table, answer with ours. */
  handleGossip(request: GossipRequest): MembersReply {
    if (request.partitions !== this.#deps.partitions || request.n !== this.#deps.n) {
      throw new ValidationError(
        `cluster settings differ: this cluster uses partitions=${this.#deps.partitions}, n=${this.#deps.n}; ` +
          `the peer uses partitions=${request.partitions}, n=${request.n}`,
      );
    }
    this.#merge(request.members);
    return { type: 'members', members: this.table.list() };
  }

  /**
   * Direct evidence that `id` is gone: a request to it was refused (nothing listens). Marks
   * it down at once instead of waiting for φ to climb; its next heartbeat brings it back.
   */
  reportUnreachable(id: string): void {
    if (id === this.#deps.self.id || this.#down.has(id)) return;
    const state = this.table.get(id);
    if (state === undefined) return;
    this.#down.add(id);
    this.#deps.onDown(this.info(state));
  }

  async #exchange(address: string, timeoutMs: number): Promise<void> {
    const request: GossipRequest = {
      type: 'gossip',
      members: this.table.list(),
      partitions: this.#deps.partitions,
      n: this.#deps.n,
    };
    const reply = await this.#deps.request(address, request, timeoutMs);
    if (reply.type !== 'members') throw new ValidationError(`${address} answered gossip with ${String(reply.type)}`);
    this.#merge(parseMembers((reply as MembersReply).members));
  }

  #merge(states: readonly MemberState[]): void {
    const change = this.table.merge(states);
    const now = this.#deps.clock.now();
    for (const member of change.joined) {
      this.#detector.heartbeat(member.id, now);
      this.#deps.onJoined(this.info(member));
    }
    change.advanced.forEach((member, i) => {
      if (this.#down.has(member.id)) {
        // Relayed news may predate the failure: believe it only once the member answers.
        void this.#probe(member.id);
      } else {
        this.#detector.heartbeat(member.id, now, change.beats[i]);
      }
    });
    for (const member of change.left) {
      this.#down.delete(member.id);
      this.#detector.forget(member.id);
      this.#deps.onLeft(this.info(member));
    }
    if (change.ringChanged) this.#rebuild();
  }

  #rebuild(): void {
    const ring = this.#buildRing();
    if (ring.checksum === this.#ring.checksum) return;
    this.#ring = ring;
    this.#deps.onRingChanged(ring);
  }

  /** Asks a member believed down directly; an answer brings it back up (an echo check). */
  async #probe(id: string): Promise<void> {
    if (this.#probing.has(id)) return;
    const state = this.table.get(id);
    if (state === undefined) return;
    this.#probing.add(id);
    try {
      await this.#exchange(state.address, this.#deps.gossipIntervalMs * 2);
      if (this.#down.delete(id)) {
        // A long outage is no sample of the rhythm: start a fresh window.
        this.#detector.forget(id);
        this.#detector.heartbeat(id, this.#deps.clock.now());
        this.#deps.onUp(this.info(this.table.get(id)!));
      }
    } catch {
      // Still unreachable: it stays down; the next news of it probes again.
    } finally {
      this.#probing.delete(id);
    }
  }

  #buildRing(): Ring {
    // Leaving members own nothing: their partitions go to others while they hand them over.
    const members = this.table.list().filter((m) => m.status === 'up').map((m) => ({ id: m.id, weight: m.vnodes }));
    return Ring.build(members, this.#deps.partitions);
  }

  async #round(): Promise<void> {
    this.#rounds++;
    this.#deps.onRound?.();
    const self = this.table.self;
    this.table.setSelf({ ...self, heartbeat: self.heartbeat + 1 });
    this.#suspect();
    const peers = this.current().filter((m) => m.id !== self.id);
    if (peers.length === 0) return;
    // Mostly a live peer; now and then a down one, which is how we hear it is back.
    const live = peers.filter((m) => !this.#down.has(m.id));
    const pool = live.length > 0 && this.#deps.random() >= (peers.length - live.length) / (peers.length + 1) ? live : peers;
    const peer = pool[randomInt(this.#deps.random, pool.length)]!;
    try {
      await this.#exchange(peer.address, this.#deps.gossipIntervalMs);
    } catch (error) {
      if (error instanceof DynamoError && error.code === 'UNREACHABLE') this.reportUnreachable(peer.id);
    }
  }

  #suspect(): void {
    const now = this.#deps.clock.now();
    for (const member of this.current()) {
      if (member.id === this.#deps.self.id || this.#down.has(member.id)) continue;
      if (this.#detector.suspects(member.id, now)) {
        this.#down.add(member.id);
        this.#deps.onDown(this.info(member));
      }
    }
  }
}

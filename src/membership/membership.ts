/**
 * Membership: joining through seeds and push-pull gossip of the member table (§4.8.1), and
 * the ring built from it. Every member builds the ring from the table alone (ring/ring.ts
 * is a pure function of the members and their weights), so members that agree on the table
 * agree on every preference list without any further coordination.
 * @module
 */
import { DynamoError, ValidationError } from '../errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { randomInt, type Random } from '../time/random.js';
import type { Message } from '../transport/transport.js';
import { Ring } from '../ring/ring.js';
import { parseMembers, type GossipRequest, type MemberState, type MembersReply } from '../protocol/messages.js';
import { MemberTable } from './member-table.js';

export interface MembershipDeps {
  readonly self: MemberState;
  readonly partitions: number;
  readonly n: number;
  readonly gossipIntervalMs: number;
  readonly clock: Clock;
  readonly random: Random;
  /** Sends a request to an address (seeds are known by address only). */
  request(address: string, message: Message, timeoutMs: number): Promise<Message>;
  onJoined(member: MemberState): void;
  onRingChanged(ring: Ring): void;
}

export class Membership {
  readonly #deps: MembershipDeps;
  readonly table: MemberTable;
  #ring: Ring;
  #timer: TimerHandle | undefined;
  #running = false;

  constructor(deps: MembershipDeps) {
    this.#deps = deps;
    this.table = new MemberTable(deps.self);
    this.#ring = this.#buildRing();
  }

  get ring(): Ring {
    return this.#ring;
  }

  /**
   * Exchanges tables with every seed. Unreachable seeds are skipped (they will learn of us
   * when they start and contact us, or through gossip); a seed that belongs to a cluster
   * with other settings makes this reject with `ValidationError`.
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

  /** Starts periodic gossip with a random peer. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
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
    for (const member of change.joined) this.#deps.onJoined(member);
    if (change.ringChanged) {
      this.#ring = this.#buildRing();
      this.#deps.onRingChanged(this.#ring);
    }
  }

  #buildRing(): Ring {
    const members = this.table.list().map((m) => ({ id: m.id, weight: m.vnodes }));
    return Ring.build(members, this.#deps.partitions);
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#deps.clock.setTimeout(() => {
      void this.#round().finally(() => this.#schedule());
    }, this.#deps.gossipIntervalMs);
  }

  async #round(): Promise<void> {
    const peers = this.table.list().filter((m) => m.id !== this.#deps.self.id);
    if (peers.length === 0) return;
    const peer = peers[randomInt(this.#deps.random, peers.length)]!;
    try {
      await this.#exchange(peer.address, this.#deps.gossipIntervalMs);
    } catch {
      // A missed round is normal (the peer may be down); the next round picks another.
    }
  }
}

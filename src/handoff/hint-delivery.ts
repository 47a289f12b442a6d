/**
 * Hinted handoff's delivery half (§4.6): hands each hint to its owner once the owner is
 * reachable again — every `intervalMs`, and at once when the failure detector sees the
 * owner come back — and drops it only after the owner acknowledged it.
 * @module
 */
import { DynamoError } from '../errors.js';
import type { Clock } from '../time/clock.js';
import { Periodic } from '../time/periodic.js';
import type { Message } from '../transport/transport.js';
import type { HintEntry, HintStore } from './hint-store.js';

export interface HintDeliveryDeps {
  readonly hints: HintStore;
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Hints held longer than this are dropped instead of delivered. */
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  /** Hints sent at once to one owner. */
  readonly concurrency: number;
  isUp(member: string): boolean;
  /** Whether `member` is still in the cluster (not left or removed). */
  isMember(member: string): boolean;
  /** The key's current owners: where a hint for a member that left goes instead. */
  owners(key: Uint8Array): string[];
  send(member: string, message: Message, timeoutMs: number): Promise<Message>;
  onDelivered(entry: HintEntry): void;
  /** Keeps delivery rounds visible to `stop()`. */
  track(work: Promise<unknown>): void;
}

export class HintDelivery {
  readonly #deps: HintDeliveryDeps;
  readonly #active = new Map<string, Promise<void>>();
  readonly #rounds: Periodic;

  constructor(deps: HintDeliveryDeps) {
    this.#deps = deps;
    this.#rounds = new Periodic(deps.clock, deps.intervalMs, async () => {
      await deps.hints.expire(deps.clock.now() - deps.maxAgeMs);
      await this.deliverAll();
    });
  }

  start(): void {
    this.#rounds.start();
  }

  stop(): void {
    this.#rounds.stop();
  }

  /** Delivers every hint held for `target` now (one delivery per target at a time). */
  deliver(target: string): Promise<void> {
    if (!this.#rounds.running) return Promise.resolve();
    let run = this.#active.get(target);
    if (run === undefined) {
      run = this.#deliver(target).finally(() => this.#active.delete(target));
      this.#active.set(target, run);
      this.#deps.track(run);
    }
    return run;
  }

  /** Delivers to every reachable target (and to the owners of the keys of targets that left). */
  async deliverAll(): Promise<void> {
    const targets = this.#deps.hints.targets().filter((t) => !this.#deps.isMember(t) || this.#deps.isUp(t));
    await Promise.all(targets.map((t) => this.deliver(t)));
  }

  async #deliver(target: string): Promise<void> {
    const queue = this.#deps.hints.entriesFor(target);
    let failed = false;
    const worker = async () => {
      while (!failed && this.#rounds.running && queue.length > 0) {
        const entry = queue.shift()!;
        try {
          await this.#handOver(entry);
        } catch (error) {
          // The owner is unreachable again (or refused): leave the rest for a later round.
          failed = true;
          if (!(error instanceof DynamoError)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: this.#deps.concurrency }, worker));
  }

  async #handOver(entry: HintEntry): Promise<void> {
    const bytes = await this.#deps.hints.readEncoded(entry);
    if (bytes === undefined) return;
    const message = { type: 'replicate', key: entry.key, versions: bytes, hint: null };
    // A hint for a member that left goes to the key's owners now, all of them.
    const recipients = this.#deps.isMember(entry.target) ? [entry.target] : this.#deps.owners(entry.key);
    for (const recipient of recipients) await this.#deps.send(recipient, message, this.#deps.timeoutMs);
    if (await this.#deps.hints.settle(entry, bytes)) this.#deps.onDelivered(entry);
  }
}

/**
 * A background task that runs every `intervalMs` on an injected clock, the next round
 * starting only after the previous one finished (rounds never overlap, however slow).
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';

export class Periodic {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #task: () => Promise<void>;
  #timer: TimerHandle | undefined;
  #running = false;

  constructor(clock: Clock, intervalMs: number, task: () => Promise<void>) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#task = task;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  /** Cancels the next round; a round in progress finishes but schedules no other. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#clock.setTimeout(() => {
      // A failed round is the task's own business; the schedule goes on.
      void this.#task()
        .catch(() => {})
        .finally(() => this.#schedule());
    }, this.#intervalMs);
  }
}

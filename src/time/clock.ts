/**
 * Injectable time. Everything in libdynamo that waits or reads the time goes through a
 * {@link Clock}, so a whole cluster can run on {@link ManualClock} under a deterministic,
 * seeded schedule.
 * @module
 */

/** Handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Opaque to callers. */
  readonly id: number;
}

/** Source of time and timers. */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; never goes backwards. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for a timer that already fired or was cleared. */
  clearTimeout(handle: TimerHandle): void;
  /**
   * Milliseconds since the Unix epoch, as a wall clock shows them (it may jump). Timestamps
   * that other processes compare — the ages of clock entries, last-write-wins order — come
   * from here, because `now()` has an epoch of its own in every process.
   * @default Date.now()
   */
  wallTime?(): number;
}

/** `clock`'s wall time, or the system's when it has none. */
export function wallTime(clock: Clock): number {
  return clock.wallTime?.() ?? Date.now();
}

/** The real clock: `performance.now()` and Node's timers. Timers are unref'd: they never keep a process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
  wallTime: () => Date.now(),
};

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to. Timers due at the same instant fire in the order
 * they were set, so a run is a pure function of its inputs and seed.
 */
export class ManualClock implements Clock {
  #now: number;
  readonly #wallEpoch: number;
  #nextId = 1;
  #timers: PendingTimer[] = [];

  /**
   * @param start what `now()` reads at first
   * @param wallEpoch what `wallTime()` reads when `now()` reads 0; the default is a fixed
   *   date (2023-11-14T22:13:20Z), so runs stay reproducible
   */
  constructor(start = 0, wallEpoch = 1_700_000_000_000) {
    this.#now = start;
    this.#wallEpoch = wallEpoch;
  }

  now(): number {
    return this.#now;
  }

  /** `wallEpoch + now()`: wall time moves exactly as `now()` does. */
  wallTime(): number {
    return this.#wallEpoch + this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    // Keep the list ordered by (at, id); insertion from the back is cheap for the usual case.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.findIndex((t) => t.id === handle.id);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order, and
   * letting the promise jobs each timer starts run before the next timer fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets every queued promise job run: a macrotask turn drains the whole microtask queue. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

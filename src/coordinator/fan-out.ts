/**
 * Sends one request to several replicas at once and waits for a quorum of them (§4.5):
 * `quorum` resolves as soon as enough have answered, while the remaining answers are still
 * collected (up to the deadline) in `settled`, which read repair needs.
 * @module
 */
import { QuorumError } from '../errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { Target } from './targets.js';

/** One replica's answer. */
export type Outcome<T> =
  | { readonly target: Target; readonly ok: true; readonly value: T }
  | { readonly target: Target; readonly ok: false; readonly error: unknown };

export interface FanOutOptions<T = unknown> {
  /** Successful answers needed. 0 resolves at once. */
  readonly needed: number;
  /** What to call the quorum in errors: 'R' or 'W'. */
  readonly label: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Successes already counted (e.g. the coordinator's own write). @default 0 */
  readonly alreadyAcked?: number;
  /** Of the successes, how many must come from true owners (PR, PW). @default 0 */
  readonly neededPrimaries?: number;
  /** Of `alreadyAcked`, how many were true owners. @default 0 */
  readonly alreadyAckedPrimaries?: number;
  /**
   * Whether a success counts toward PR/PW. By default a target without `hintFor`; a call
   * that fell back to a stand-in says otherwise through its value.
   */
  readonly primary?: (target: Target, value: T) => boolean;
}

export interface FanOut<T> {
  /** Resolves with the answers so far once `needed` succeeded; rejects with QuorumError otherwise. */
  readonly quorum: Promise<Outcome<T>[]>;
  /** Every answer that came before the deadline (never rejects). */
  readonly settled: Promise<Outcome<T>[]>;
}

/** Calls `call` for every target concurrently and tracks the quorum. */
export function fanOut<T>(targets: readonly Target[], call: (target: Target) => Promise<T>, options: FanOutOptions<T>): FanOut<T> {
  const fan = new Fan(targets, options);
  for (const target of targets) {
    let promise: Promise<T>;
    try {
      promise = call(target);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => fan.succeeded(target, value),
      (error: unknown) => fan.failed(target, error),
    );
  }
  fan.check();
  return fan;
}

/**
 * One fan-out's state. A class rather than closures over local variables: it runs for every
 * get and put, and one object with methods is a fraction of the garbage of a context and a
 * closure per step.
 */
class Fan<T> implements FanOut<T> {
  readonly quorum: Promise<Outcome<T>[]>;
  readonly settled: Promise<Outcome<T>[]>;
  readonly #targets: readonly Target[];
  readonly #options: FanOutOptions<T>;
  readonly #outcomes: Outcome<T>[] = [];
  /** Successes needed in all, counting those already acked. */
  readonly #required: number;
  /** True owners still needed from the targets (PR/PW minus the primaries already acked). */
  readonly #neededPrimaries: number;
  /** Targets without `hintFor` that have not answered yet. */
  #primariesLeft = 0;
  #primaryAcks = 0;
  #successes = 0;
  #failures = 0;
  #quorumDone = false;
  #finished = false;
  #resolveQuorum!: (outcomes: Outcome<T>[]) => void;
  #rejectQuorum!: (error: unknown) => void;
  #resolveSettled!: (outcomes: Outcome<T>[]) => void;
  readonly #timer: TimerHandle;

  constructor(targets: readonly Target[], options: FanOutOptions<T>) {
    this.#targets = targets;
    this.#options = options;
    this.#required = options.needed + (options.alreadyAcked ?? 0);
    this.#neededPrimaries = Math.max(0, (options.neededPrimaries ?? 0) - (options.alreadyAckedPrimaries ?? 0));
    for (const target of targets) if (target.hintFor === undefined) this.#primariesLeft++;
    this.quorum = new Promise<Outcome<T>[]>((resolve, reject) => {
      this.#resolveQuorum = resolve;
      this.#rejectQuorum = reject;
    });
    this.settled = new Promise<Outcome<T>[]>((resolve) => (this.#resolveSettled = resolve));
    this.#timer = options.clock.setTimeout(() => this.#expire(), options.timeoutMs);
  }

  succeeded(target: Target, value: T): void {
    if (this.#finished) return;
    this.#successes++;
    if (target.hintFor === undefined) {
      this.#primariesLeft--;
      if (this.#options.primary?.(target, value) ?? true) this.#primaryAcks++;
    }
    this.#outcomes.push({ target, ok: true, value });
    this.check();
  }

  failed(target: Target, error: unknown): void {
    if (this.#finished) return;
    this.#failures++;
    if (target.hintFor === undefined) this.#primariesLeft--;
    this.#outcomes.push({ target, ok: false, error });
    this.check();
  }

  /** Settles the quorum once it is met or out of reach, and everything once all answered. */
  check(): void {
    if (!this.#quorumDone) {
      const { needed } = this.#options;
      if (this.#successes >= needed && this.#primaryAcks >= this.#neededPrimaries) {
        this.#quorumDone = true;
        this.#resolveQuorum(this.#outcomes.slice());
      } else if (this.#targets.length - this.#failures < needed || this.#primaryAcks + this.#primariesLeft < this.#neededPrimaries) {
        this.#failQuorum('too many replicas failed');
      }
    }
    if (this.#outcomes.length === this.#targets.length) this.#finish();
  }

  #expire(): void {
    if (!this.#quorumDone) this.#failQuorum(`no answer within ${this.#options.timeoutMs} ms`);
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#options.clock.clearTimeout(this.#timer);
    this.#resolveSettled(this.#outcomes.slice());
  }

  #failQuorum(why: string): void {
    this.#quorumDone = true;
    const options = this.#options;
    const already = options.alreadyAcked ?? 0;
    const alreadyPrimaries = options.alreadyAckedPrimaries ?? 0;
    const asked = this.#targets.length + already;
    const primaryAcks = this.#primaryAcks;
    // Blame the primaries when they alone make the quorum impossible or were all that was missing.
    const primaryShort =
      primaryAcks + this.#primariesLeft < this.#neededPrimaries ||
      (primaryAcks < this.#neededPrimaries && this.#successes >= options.needed);
    const message = primaryShort
      ? `P${options.label}=${options.neededPrimaries} not met: ${primaryAcks + alreadyPrimaries} true owners acknowledged (${why})`
      : `${options.label}=${this.#required} not met: ${this.#successes + already} of ${asked} replicas asked acknowledged (${
          asked < this.#required ? `only ${asked} reachable for the key` : why
        })`;
    const [required, acks] = primaryShort
      ? [options.neededPrimaries ?? 0, primaryAcks + alreadyPrimaries]
      : [this.#required, this.#successes + already];
    const cause = this.#lastError();
    this.#rejectQuorum(new QuorumError(message, required, acks, cause === undefined ? undefined : { cause }));
  }

  #lastError(): unknown {
    for (let i = this.#outcomes.length - 1; i >= 0; i--) {
      const o = this.#outcomes[i]!;
      if (!o.ok) return o.error;
    }
    return undefined;
  }
}

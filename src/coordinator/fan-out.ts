/**
 * Sends one request to several replicas at once and waits for a quorum of them (§4.5):
 * `quorum` resolves as soon as enough have answered, while the remaining answers are still
 * collected (up to the deadline) in `settled`, which read repair needs.
 * @module
 */
import { QuorumError } from '../errors.js';
import type { Clock } from '../time/clock.js';

/** One replica's answer. */
export type Outcome<T> =
  | { readonly target: string; readonly ok: true; readonly value: T }
  | { readonly target: string; readonly ok: false; readonly error: unknown };

export interface FanOutOptions {
  /** Successful answers needed. 0 resolves at once. */
  readonly needed: number;
  /** What to call the quorum in errors: 'R' or 'W'. */
  readonly label: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Successes already counted (e.g. the coordinator's own write). @default 0 */
  readonly alreadyAcked?: number;
}

export interface FanOut<T> {
  /** Resolves with the answers so far once `needed` succeeded; rejects with QuorumError otherwise. */
  readonly quorum: Promise<Outcome<T>[]>;
  /** Every answer that came before the deadline (never rejects). */
  readonly settled: Promise<Outcome<T>[]>;
}

/** Calls `call` for every target concurrently and tracks the quorum. */
export function fanOut<T>(targets: readonly string[], call: (target: string) => Promise<T>, options: FanOutOptions): FanOut<T> {
  const outcomes: Outcome<T>[] = [];
  const already = options.alreadyAcked ?? 0;
  const required = options.needed + already;
  let successes = 0;
  let failures = 0;
  let quorumDone = false;
  let resolveQuorum!: (o: Outcome<T>[]) => void;
  let rejectQuorum!: (e: unknown) => void;
  let resolveSettled!: (o: Outcome<T>[]) => void;
  const quorum = new Promise<Outcome<T>[]>((res, rej) => {
    resolveQuorum = res;
    rejectQuorum = rej;
  });
  const settled = new Promise<Outcome<T>[]>((res) => (resolveSettled = res));

  const lastError = (): unknown => {
    for (let i = outcomes.length - 1; i >= 0; i--) {
      const o = outcomes[i]!;
      if (!o.ok) return o.error;
    }
    return undefined;
  };
  const failQuorum = (why: string) => {
    quorumDone = true;
    const acks = successes + already;
    const cause = lastError();
    rejectQuorum(
      new QuorumError(
        `${options.label}=${required} not met: ${acks} of ${targets.length + already} replicas acknowledged (${why})`,
        required,
        acks,
        cause === undefined ? undefined : { cause },
      ),
    );
  };
  const check = () => {
    if (!quorumDone) {
      if (successes >= options.needed) {
        quorumDone = true;
        resolveQuorum(outcomes.slice());
      } else if (targets.length - failures < options.needed) {
        failQuorum('too many replicas failed');
      }
    }
    if (outcomes.length === targets.length) finish();
  };
  let finished = false;
  const timer = options.clock.setTimeout(() => {
    if (!quorumDone) failQuorum(`no answer within ${options.timeoutMs} ms`);
    finish();
  }, options.timeoutMs);
  function finish() {
    if (finished) return;
    finished = true;
    options.clock.clearTimeout(timer);
    resolveSettled(outcomes.slice());
  }

  for (const target of targets) {
    let promise: Promise<T>;
    try {
      promise = call(target);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => {
        if (finished) return;
        successes++;
        outcomes.push({ target, ok: true, value });
        check();
      },
      (error: unknown) => {
        if (finished) return;
        failures++;
        outcomes.push({ target, ok: false, error });
        check();
      },
    );
  }
  check();
  return { quorum, settled };
}

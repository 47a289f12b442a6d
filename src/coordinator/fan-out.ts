/**
 * Sends one request to several replicas at once and waits for a quorum of them (§4.5):
 * `quorum` resolves as soon as enough have answered, while the remaining answers are still
 * collected (up to the deadline) in `settled`, which read repair needs.
 * @module
 */
import { QuorumError } from '../errors.js';
import type { Clock } from '../time/clock.js';
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
  const outcomes: Outcome<T>[] = [];
  const already = options.alreadyAcked ?? 0;
  const required = options.needed + already;
  const neededPrimaries = Math.max(0, (options.neededPrimaries ?? 0) - (options.alreadyAckedPrimaries ?? 0));
  let primariesLeft = targets.reduce((n, t) => (t.hintFor === undefined ? n + 1 : n), 0);
  let primaryAcks = 0;
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
    const cause = lastError();
    // Blame the primaries when they alone make the quorum impossible or were all that was missing.
    const primaryShort =
      primaryAcks + primariesLeft < neededPrimaries || (primaryAcks < neededPrimaries && successes >= options.needed);
    const message = primaryShort
      ? `P${options.label}=${options.neededPrimaries} not met: ${primaryAcks + (options.alreadyAckedPrimaries ?? 0)} true owners acknowledged (${why})`
      : `${options.label}=${required} not met: ${successes + already} of ${targets.length + already} replicas asked acknowledged (${
          targets.length + already < required ? `only ${targets.length + already} reachable for the key` : why
        })`;
    const [req, acks] = primaryShort
      ? [options.neededPrimaries ?? 0, primaryAcks + (options.alreadyAckedPrimaries ?? 0)]
      : [required, successes + already];
    rejectQuorum(new QuorumError(message, req, acks, cause === undefined ? undefined : { cause }));
  };
  const check = () => {
    if (!quorumDone) {
      if (successes >= options.needed && primaryAcks >= neededPrimaries) {
        quorumDone = true;
        resolveQuorum(outcomes.slice());
      } else if (targets.length - failures < options.needed || primaryAcks + primariesLeft < neededPrimaries) {
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
        if (target.hintFor === undefined) {
          primariesLeft--;
          if (options.primary?.(target, value) ?? true) primaryAcks++;
        }
        outcomes.push({ target, ok: true, value });
        check();
      },
      (error: unknown) => {
        if (finished) return;
        failures++;
        if (target.hintFor === undefined) primariesLeft--;
        outcomes.push({ target, ok: false, error });
        check();
      },
    );
  }
  check();
  return { quorum, settled };
}

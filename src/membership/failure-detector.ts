/**
 * The phi-accrual failure detector (Hayashibara, Défago, Yared, Katayama, "The φ Accrual
 * Failure Detector", SRDS 2004), in the form Cassandra uses: heartbeats arrive through
 * gossip, inter-arrival times are modelled as exponential with the mean of a sliding
 * window, and φ = −log10(P(no heartbeat for this long)) = Δt / mean · log10(e).
 *
 * Why accrual rather than a fixed timeout: gossip delivers a member's heartbeat after a
 * variable number of hops, so the normal gap depends on the cluster; φ scales with the
 * observed mean, and the threshold is a confidence level, not a duration. With the
 * defaults (threshold 8) a member is suspected after ≈ 18 mean intervals of silence.
 * Pure: the caller passes the time in.
 * @module
 */

const LOG10_E = Math.LOG10E;

export interface FailureDetectorOptions {
  /** φ above which a member is considered down. @default 8 */
  readonly threshold: number;
  /** Inter-arrival samples kept per member. @default 100 */
  readonly windowSize: number;
  /** The mean assumed before any interval was observed (e.g. the gossip interval). */
  readonly initialIntervalMs: number;
  /** Never suspect before this long without news, whatever φ says. @default 0 */
  readonly minSilenceMs?: number;
}

class ArrivalWindow {
  readonly #samples: number[] = [];
  #sum = 0;
  #next = 0;
  last: number;

  constructor(now: number, private readonly size: number, private readonly initial: number) {
    this.last = now;
    // The guess stays as the first sample (as Cassandra does): else two exchanges a few ms
    // apart would make a few ms the whole mean, and the member suspect at once.
    this.add(initial);
  }

  add(interval: number): void {
    if (this.#samples.length < this.size) {
      this.#samples.push(interval);
    } else {
      this.#sum -= this.#samples[this.#next]!;
      this.#samples[this.#next] = interval;
      this.#next = (this.#next + 1) % this.size;
    }
    this.#sum += interval;
  }

  get mean(): number {
    return this.#samples.length === 0 ? this.initial : this.#sum / this.#samples.length;
  }
}

export class FailureDetector {
  readonly #options: FailureDetectorOptions;
  readonly #windows = new Map<string, ArrivalWindow>();

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
  }

  /**
   * Records news of `id` at time `now`: its heartbeat advanced by `beats`. Gossip relays
   * heartbeats in jumps; dividing the gap by the beats it carried measures the member's own
   * rhythm rather than the relay's, which keeps the mean (and so detection time) steady.
   */
  heartbeat(id: string, now: number, beats = 1): void {
    const window = this.#windows.get(id);
    if (window === undefined) {
      this.#windows.set(id, new ArrivalWindow(now, this.#options.windowSize, this.#options.initialIntervalMs));
      return;
    }
    const interval = now - window.last;
    // Several heartbeats can arrive in one exchange; a zero gap says nothing of the rhythm.
    if (interval > 0) window.add(interval / Math.max(1, beats));
    window.last = now;
  }

  /** φ of `id` at `now`; 0 for a member never heard of. */
  phi(id: string, now: number): number {
    const window = this.#windows.get(id);
    if (window === undefined) return 0;
    const mean = Math.max(window.mean, 1);
    return ((now - window.last) / mean) * LOG10_E;
  }

  /** Whether `id` is suspected at `now`. */
  suspects(id: string, now: number): boolean {
    const window = this.#windows.get(id);
    if (window === undefined) return false;
    if (now - window.last < (this.#options.minSilenceMs ?? 0)) return false;
    return this.phi(id, now) > this.#options.threshold;
  }

  /** Forgets `id` (it left, or restarted with a new rhythm). */
  forget(id: string): void {
    this.#windows.delete(id);
  }
}

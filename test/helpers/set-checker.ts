// The Jepsen set checker (jepsen checker.clj, `set`): given every add attempted, the adds
// acknowledged, and the final read, which acknowledged adds were lost and which values came
// from nowhere.

export interface SetCheck<T> {
  readonly valid: boolean;
  /** Acknowledged but missing from the final read. */
  readonly lost: T[];
  /** In the final read but never attempted. */
  readonly unexpected: T[];
  /** Not acknowledged (failed or indeterminate) yet present: writes that landed anyway. */
  readonly recovered: T[];
  readonly acknowledged: number;
  readonly attempted: number;
}

export function checkSet<T>(attempts: Iterable<T>, acknowledged: Iterable<T>, final: Iterable<T>): SetCheck<T> {
  const attempted = new Set(attempts);
  const acked = new Set(acknowledged);
  const read = new Set(final);
  const lost = [...acked].filter((x) => !read.has(x));
  const unexpected = [...read].filter((x) => !attempted.has(x));
  const recovered = [...read].filter((x) => attempted.has(x) && !acked.has(x));
  return {
    valid: lost.length === 0 && unexpected.length === 0,
    lost,
    unexpected,
    recovered,
    acknowledged: acked.size,
    attempted: attempted.size,
  };
}

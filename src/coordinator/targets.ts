/**
 * Sloppy quorum (§4.6): a request goes to the first N *reachable* members walking the ring
 * from the key, not strictly to its N owners. Each owner believed down is replaced by the
 * next reachable member past the owners, which keeps the copy as a hint for that owner.
 * Pure: liveness is passed in.
 * @module
 */

/** One member a request goes to. */
export interface Target {
  readonly id: string;
  /** For a stand-in (fallback): the owner whose copy it keeps. Absent for a true owner. */
  readonly hintFor?: string;
}

/**
 * @param walk every member in ring order from the key (owners first)
 * @param n replicas per key
 * @param isUp liveness as this member sees it
 */
export function selectTargets(walk: readonly string[], n: number, isUp: (id: string) => boolean): Target[] {
  const targets: Target[] = [];
  let next = n;
  for (let i = 0; i < n && i < walk.length; i++) {
    const owner = walk[i]!;
    if (isUp(owner)) {
      targets.push({ id: owner });
      continue;
    }
    while (next < walk.length && !isUp(walk[next]!)) next++;
    if (next < walk.length) targets.push({ id: walk[next++]!, hintFor: owner });
  }
  return targets;
}

/** How many targets are true owners. */
export function primaries(targets: readonly Target[]): number {
  return targets.reduce((count, t) => (t.hintFor === undefined ? count + 1 : count), 0);
}

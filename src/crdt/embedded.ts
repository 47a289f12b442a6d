/**
 * Counters and registers inside an ORMap: how a field's dotted store (./field-store.ts) is
 * seen as a PNCounter or LWWRegister, and how an updated one goes back in under fresh dots.
 *
 * Source: riak_dt's embedded counter (`riak_dt_emcntr`) and its map's register fields: each
 * actor's totals, or each write, carry the dot of the map update that made them, so a field
 * removal can drop exactly the entries it observed. The known limit, as riak_dt documents it:
 * a counter entry holds its actor's running totals, so when a field is removed while an actor
 * updates it concurrently, that actor's whole total survives, not just the concurrent change
 * (keeping every increment under its own dot would fix it, at unbounded size).
 * @module
 */
import { addDot, compareDots, nextDot, type CausalContext } from './dots.js';
import type { CounterEntry, RegisterEntry } from './field-store.js';
import { LWWRegister, compareWritten } from './lww-register.js';
import { PNCounter, joinEntries, type PNCounterEntry } from './pn-counter.js';

/** The counter a field's live entries add up to: per actor, the maxima of P and N. */
export function counterView(store: readonly CounterEntry[]): PNCounter {
  let entries: readonly PNCounterEntry[] = [];
  for (const e of store) if (e.p !== 0 || e.n !== 0) entries = joinEntries(entries, [{ actor: e.actor, p: e.p, n: e.n }]);
  return PNCounter.fromState(entries);
}

/** The register a field's live entries stand for: the latest write among them. */
export function registerView<T>(store: readonly RegisterEntry[]): LWWRegister<T> {
  let latest = store[0]?.written;
  for (const e of store) if (latest === undefined || compareWritten(e.written, latest) > 0) latest = e.written;
  return LWWRegister.fromState<T>(latest);
}

/** A field store after an update, and the map's context with the update's dots. */
export interface Embedded<E> {
  readonly ctx: CausalContext;
  readonly store: readonly E[];
}

/**
 * `next` (what the update made of `view`) back into the field: every actor whose totals
 * changed gets one entry under a fresh dot of `actor`, replacing its observed entries.
 */
export function embedCounter(
  ctx: CausalContext,
  store: readonly CounterEntry[],
  view: PNCounter,
  next: PNCounter,
  actor: string,
): Embedded<CounterEntry> {
  const changed = new Map<string, PNCounterEntry>();
  const before = new Map(view.store.map((e) => [e.actor, e]));
  for (const e of next.store) {
    const old = before.get(e.actor);
    if (old === undefined || old.p !== e.p || old.n !== e.n) changed.set(e.actor, e);
    before.delete(e.actor);
  }
  // Actors the update dropped are reset to zero: their observed entries just go.
  for (const gone of before.keys()) changed.set(gone, { actor: gone, p: 0, n: 0 });
  if (changed.size === 0) return { ctx, store };
  const out = store.filter((e) => !changed.has(e.actor));
  for (const e of changed.values()) {
    if (e.p === 0 && e.n === 0) continue;
    const dot = nextDot(ctx, actor);
    ctx = addDot(ctx, dot);
    out.push({ dot, actor: e.actor, p: e.p, n: e.n });
  }
  out.sort((x, y) => compareDots(x.dot, y.dot));
  return { ctx, store: out };
}

/**
 * `next` (what the update made of `view`) back into the field: a new write replaces every
 * observed one under a fresh dot of `actor`; an unchanged register changes nothing.
 */
export function embedRegister<T>(
  ctx: CausalContext,
  store: readonly RegisterEntry[],
  view: LWWRegister<T>,
  next: LWWRegister<T>,
  actor: string,
): Embedded<RegisterEntry> {
  if (next.equals(view)) return { ctx, store };
  const written = next.written;
  if (written === undefined) return { ctx, store: [] };
  const dot = nextDot(ctx, actor);
  return { ctx: addDot(ctx, dot), store: [{ dot, written }] };
}

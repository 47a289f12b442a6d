/**
 * The dot stores of ORMap fields. Every field of a map, however deeply nested, lives under
 * the map's one causal context, which is what lets a field removal reset it.
 *
 * Source: Almeida, Shoker, Baquero, "Delta State Replicated Data Types", JPDC 2018, §7.3
 * (a map of keys to causal dot stores, "ORMap"); the field semantics are riak_dt's
 * `riak_dt_map` (fields named by (name, type); a field is present from its first update until
 * an observed remove; an update concurrent with a remove keeps the field but only the
 * update's own effects), and counters are embedded as riak_dt's `riak_dt_emcntr` does.
 *
 * A field holds its presence dots (one per update, replacing those the updater saw) and the
 * dotted state of its type:
 * - orset: a set store (./set-store.ts);
 * - ormap: a map store, recursively;
 * - pncounter: one entry per actor, `(dot, actor, p, n)`: an update replaces the observed
 *   entries of the actors whose totals changed with entries under fresh dots;
 * - lwwregister: entries `(dot, write)`; an assignment replaces every observed entry, and
 *   the value is the latest write among the live ones.
 *
 * A store-dot ("DotFun") join keeps an entry both sides hold or that one holds and the other
 * has not seen; a field with neither presence nor content is gone.
 * @module
 */
import { compareWritten, type Written } from './lww-register.js';
import { compareDots, equalDots, joinDots, type CausalContext, type Dot, type Dots } from './dots.js';
import { equalSetStores, joinSetStores, visitSetDots, type SetStore } from './set-store.js';
import type { CrdtTag } from './types.js';

/** An embedded counter's entry: `actor`'s totals, as of the update `dot`. */
export interface CounterEntry {
  readonly dot: Dot;
  readonly actor: string;
  readonly p: number;
  readonly n: number;
}

/** An embedded register's entry: a write, made by the update `dot`. */
export interface RegisterEntry {
  readonly dot: Dot;
  readonly written: Written;
}

interface FieldBase {
  readonly name: string;
  /** The dots of the updates that keep the field present. */
  readonly presence: Dots;
}
export interface SetField extends FieldBase {
  readonly type: 'orset';
  readonly store: SetStore;
}
export interface MapField extends FieldBase {
  readonly type: 'ormap';
  readonly store: MapStore;
}
export interface CounterField extends FieldBase {
  readonly type: 'pncounter';
  /** Sorted by dot. */
  readonly store: readonly CounterEntry[];
}
export interface RegisterField extends FieldBase {
  readonly type: 'lwwregister';
  /** Sorted by dot. */
  readonly store: readonly RegisterEntry[];
}
export type Field = SetField | MapField | CounterField | RegisterField;

/** Fields sorted by (name, type). */
export type MapStore = readonly Field[];

/** Order of fields: name (UTF-16 code units), then type tag. */
export function compareFieldKeys(name: string, type: CrdtTag, other: { readonly name: string; readonly type: CrdtTag }): number {
  if (name !== other.name) return name < other.name ? -1 : 1;
  return type === other.type ? 0 : type < other.type ? -1 : 1;
}

/** Index of the field (name, type), or `-(insertion point) - 1` when there is none. */
export function findField(store: MapStore, name: string, type: CrdtTag): number {
  let lo = 0;
  let hi = store.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareFieldKeys(name, type, store[mid]!);
    if (c === 0) return mid;
    if (c > 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/** Whether a field's state is the bottom one, i.e. the field is absent. */
export function isEmptyField(field: Field): boolean {
  return field.presence.length === 0 && field.store.length === 0;
}

/** The DotFun join of two dot-sorted entry lists; on a clash of dots, `pick` decides. */
function joinDotFun<E extends { readonly dot: Dot }>(
  a: readonly E[],
  ca: CausalContext,
  b: readonly E[],
  cb: CausalContext,
  pick: (x: E, y: E) => E,
): readonly E[] {
  if (a === b) return a;
  const keep = joinDots(
    a.map((e) => e.dot),
    ca,
    b.map((e) => e.dot),
    cb,
  );
  const out: E[] = [];
  let i = 0;
  let j = 0;
  for (const dot of keep) {
    while (i < a.length && compareDots(a[i]!.dot, dot) < 0) i++;
    while (j < b.length && compareDots(b[j]!.dot, dot) < 0) j++;
    const x = a[i] !== undefined && compareDots(a[i]!.dot, dot) === 0 ? a[i] : undefined;
    const y = b[j] !== undefined && compareDots(b[j]!.dot, dot) === 0 ? b[j] : undefined;
    out.push(x !== undefined && y !== undefined ? pick(x, y) : (x ?? y)!);
  }
  return out;
}

// A dot names one update, so both sides hold the same entry under it unless an actor was
// used by two replicas; the picks below still make the join commutative then.
function pickCounter(x: CounterEntry, y: CounterEntry): CounterEntry {
  if (x.actor !== y.actor) return x.actor > y.actor ? x : y;
  return x.p !== y.p ? (x.p > y.p ? x : y) : x.n >= y.n ? x : y;
}

function pickRegister(x: RegisterEntry, y: RegisterEntry): RegisterEntry {
  return compareWritten(x.written, y.written) >= 0 ? x : y;
}

/** The join of two fields of the same name and type. */
function joinFields(x: Field, cx: CausalContext, y: Field, cy: CausalContext): Field {
  const presence = joinDots(x.presence, cx, y.presence, cy);
  const base = { name: x.name, presence };
  switch (x.type) {
    case 'orset':
      return { ...base, type: x.type, store: joinSetStores(x.store, cx, (y as SetField).store, cy) };
    case 'ormap':
      return { ...base, type: x.type, store: joinMapStores(x.store, cx, (y as MapField).store, cy) };
    case 'pncounter':
      return { ...base, type: x.type, store: joinDotFun(x.store, cx, (y as CounterField).store, cy, pickCounter) };
    case 'lwwregister':
      return { ...base, type: x.type, store: joinDotFun(x.store, cx, (y as RegisterField).store, cy, pickRegister) };
  }
}

/** A field that only one side holds, joined with the other side's context. */
function filterField(x: Field, cx: CausalContext, cy: CausalContext): Field {
  const none = { name: x.name, type: x.type, presence: [], store: [] } as unknown as Field;
  return joinFields(x, cx, none, cy);
}

/** The join of two map stores under their contexts; fields left empty are gone. */
export function joinMapStores(a: MapStore, ca: CausalContext, b: MapStore, cb: CausalContext): MapStore {
  if (a === b) return a;
  const out: Field[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : compareFieldKeys(x.name, x.type, y);
    const field = c === 0 ? joinFields(x!, ca, y!, cb) : c < 0 ? filterField(x!, ca, cb) : filterField(y!, cb, ca);
    if (!isEmptyField(field)) out.push(field);
    if (c <= 0) i++;
    if (c >= 0) j++;
  }
  return out;
}

function equalCounterEntries(a: readonly CounterEntry[], b: readonly CounterEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (compareDots(x.dot, y.dot) !== 0 || x.actor !== y.actor || x.p !== y.p || x.n !== y.n) return false;
  }
  return true;
}

function equalRegisterEntries(a: readonly RegisterEntry[], b: readonly RegisterEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (compareDots(a[i]!.dot, b[i]!.dot) !== 0 || compareWritten(a[i]!.written, b[i]!.written) !== 0) return false;
  }
  return true;
}

/** Whether two map stores are the same, field by field. */
export function equalMapStores(a: MapStore, b: MapStore): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.type !== y.type || !equalDots(x.presence, y.presence)) return false;
    switch (x.type) {
      case 'orset':
        if (!equalSetStores(x.store, (y as SetField).store)) return false;
        break;
      case 'ormap':
        if (!equalMapStores(x.store, (y as MapField).store)) return false;
        break;
      case 'pncounter':
        if (!equalCounterEntries(x.store, (y as CounterField).store)) return false;
        break;
      case 'lwwregister':
        if (!equalRegisterEntries(x.store, (y as RegisterField).store)) return false;
        break;
    }
  }
  return true;
}

/**
 * Calls `visit` with every live dot of a map store and a string naming where it is and, for
 * entries that carry a value, what that value is.
 */
export function visitMapDots(store: MapStore, prefix: string, visit: (dot: Dot, at: string) => void): void {
  for (const field of store) {
    const at = `${prefix}${JSON.stringify(field.name)}:${field.type}/`;
    for (const dot of field.presence) visit(dot, `${at}p`);
    switch (field.type) {
      case 'orset':
        visitSetDots(field.store, at, visit);
        break;
      case 'ormap':
        visitMapDots(field.store, at, visit);
        break;
      case 'pncounter':
        for (const e of field.store) visit(e.dot, `${at}c${JSON.stringify(e.actor)} ${e.p} ${e.n}`);
        break;
      case 'lwwregister':
        for (const e of field.store) {
          const { ts } = e.written;
          visit(e.dot, `${at}r${ts.ms} ${ts.logical} ${JSON.stringify(ts.actor)} ${e.written.key}`);
        }
        break;
    }
  }
}

/** Levels of maps in a map store: 1 for a store without map fields. */
export function mapDepth(store: MapStore): number {
  let depth = 1;
  for (const field of store) if (field.type === 'ormap') depth = Math.max(depth, 1 + mapDepth(field.store));
  return depth;
}

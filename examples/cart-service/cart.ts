/**
 * The cart itself, and the only module that knows its shape: a CRDT, an {@link ORMap} from
 * SKU to a {@link PNCounter} holding the quantity. Pure (no I/O).
 *
 * A CRDT merges concurrent versions exactly, so `Dynamo.get` merges a cart's siblings by
 * itself and the paper's anomalies (§4.4) are gone: an item removed in one version and
 * still present in a concurrent one stays removed (a remove drops what its read had seen;
 * only an add it had not seen keeps the item), and concurrent adds of the same SKU add up.
 *
 * Every change names an actor, the writer making it, which must be stable for that writer
 * and never used by two writers at once (see ./cart-store.ts).
 * @module
 */
import { ORMap, PNCounter } from '../../src/index.js';

/** What is stored under the cart's key: SKU → quantity, as a CRDT. */
export type CartState = ORMap;

/** What the API shows: SKU → quantity (a positive integer), SKUs sorted. */
export type Cart = Readonly<Record<string, number>>;

/** Largest quantity one line may hold. */
export const MAX_QTY = 1_000_000;

/**
 * What a SKU may look like: it starts with a letter or digit, so that no SKU can be an
 * object's special key (`__proto__`) and every SKU is safe in a URL path.
 */
const SKU = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Whether `sku` is a valid SKU. */
export function isSku(sku: unknown): sku is string {
  return typeof sku === 'string' && SKU.test(sku);
}

/** Whether `qty` is a valid quantity to add: an integer in 1..{@link MAX_QTY}. */
export function isQty(qty: unknown): qty is number {
  return typeof qty === 'number' && Number.isInteger(qty) && qty >= 1 && qty <= MAX_QTY;
}

/** The cart nobody has written yet. */
export function emptyCart(): CartState {
  return ORMap.empty();
}

/**
 * One cart from the values a read returned (usually one: `get` merges CRDT siblings).
 * Carts merge; values that are not carts (written by something else) are ignored rather
 * than trusted.
 */
export function mergeCarts(values: readonly unknown[]): CartState {
  let merged = emptyCart();
  for (const value of values) if (value instanceof ORMap) merged = merged.merge(value);
  return merged;
}

/**
 * `cart` with `qty` more of `sku`, counted under `actor`; the line is capped at
 * {@link MAX_QTY} (an add past the cap adds only up to it, or nothing).
 */
export function addItem(cart: CartState, actor: string, sku: string, qty: number): CartState {
  const room = MAX_QTY - quantity(cart, sku);
  if (room <= 0) return cart;
  return cart.update(actor, sku, PNCounter, (q) => q.increment(actor, Math.min(qty, room)));
}

/** `cart` without `sku`: removes every add of it this cart has seen (none: the same cart). */
export function removeItem(cart: CartState, sku: string): CartState {
  return cart.remove(sku);
}

/**
 * The lines of `cart` as the API shows them: SKU → quantity, SKUs sorted. Fields that are
 * not valid lines (another type, a bad SKU, a quantity below 1) are left out; concurrent
 * adds may sum past {@link MAX_QTY}, which is shown capped.
 */
export function itemsOf(cart: CartState): Cart {
  const lines: [string, number][] = [];
  for (const sku of cart.keys()) {
    const qty = quantity(cart, sku);
    if (isSku(sku) && qty >= 1) lines.push([sku, Math.min(qty, MAX_QTY)]);
  }
  return Object.fromEntries(lines);
}

function quantity(cart: CartState, sku: string): number {
  return cart.get(sku, PNCounter)?.value() ?? 0;
}

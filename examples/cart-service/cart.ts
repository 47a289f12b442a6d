/**
 * The cart itself: a plain object from SKU to quantity, and how concurrent versions of it
 * are merged. Pure (no I/O), and the only module that knows a cart's shape, so that a CRDT
 * (an ORMap of counters) can replace it without touching the HTTP or storage code.
 *
 * The merge is the Dynamo paper's shopping cart (§4.4): the union of the items, so an
 * "add to cart" is never lost. Its known weakness is the paper's too: an item removed in
 * one version and still present in a concurrent one comes back, and two concurrent adds of
 * the same SKU keep the larger quantity, not the sum.
 * @module
 */

/** SKU → quantity (a positive integer). Stored as is (CBOR) under the cart's key. */
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
export function emptyCart(): Cart {
  return {};
}

/**
 * One cart from the siblings a read returned: every SKU any of them holds, at the largest
 * quantity any of them gives it. Values that are not carts (written by something else)
 * are ignored rather than trusted.
 */
export function mergeCarts(siblings: readonly unknown[]): Cart {
  const merged = new Map<string, number>();
  for (const sibling of siblings) {
    for (const [sku, qty] of lines(sibling)) merged.set(sku, Math.max(merged.get(sku) ?? 0, qty));
  }
  return fromLines(merged);
}

/** `cart` with `qty` more of `sku` (capped at {@link MAX_QTY}). */
export function addItem(cart: Cart, sku: string, qty: number): Cart {
  const next = new Map(lines(cart));
  next.set(sku, Math.min(MAX_QTY, (next.get(sku) ?? 0) + qty));
  return fromLines(next);
}

/** `cart` without `sku` (the same cart when it had none). */
export function removeItem(cart: Cart, sku: string): Cart {
  const next = new Map(lines(cart));
  next.delete(sku);
  return fromLines(next);
}

/** The valid lines of a stored value, whatever it is. */
function lines(value: unknown): [string, number][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).filter((line): line is [string, number] => isSku(line[0]) && isQty(line[1]));
}

/** A cart with its SKUs sorted, so equal carts print (and encode) alike. */
function fromLines(lines: Map<string, number>): Cart {
  return Object.fromEntries([...lines].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

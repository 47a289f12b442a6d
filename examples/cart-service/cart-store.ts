/**
 * Carts kept in a {@link Dynamo} cluster: each cart is one key, `cart:<id>`. Every change
 * is a read-modify-write: read (R replicas, every sibling), merge the siblings, apply the
 * change, write with the read's context, so the write supersedes exactly what was read and
 * a concurrent write elsewhere survives as a sibling for the next read to merge.
 * @module
 */
import type { Dynamo } from '../../src/index.js';
import { addItem, mergeCarts, removeItem, type Cart } from './cart.js';

/** The few members of `Dynamo` the store uses. */
export type CartDynamo = Pick<Dynamo, 'get' | 'put' | 'readLocal' | 'preferenceList'>;

/** A cart as a quorum read saw it. */
export interface CartView {
  readonly id: string;
  /** The merged cart. */
  readonly items: Cart;
  /** Concurrent versions the read found (0: no cart yet; over 1: they were merged). */
  readonly siblings: number;
}

/** This member's own copy of a cart, without asking anyone (debugging, tests). */
export interface LocalCartView extends CartView {
  /** Whether this member holds a replica of the cart at all. */
  readonly found: boolean;
  /** The members that own the cart (its preference list), in ring order. */
  readonly owners: readonly string[];
}

/** What a cart id may look like: a URL-safe word. */
const CART_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Whether `id` is a valid cart id. */
export function isCartId(id: unknown): id is string {
  return typeof id === 'string' && CART_ID.test(id);
}

/** Reads and changes carts through one member of the cluster. */
export class CartStore {
  readonly #dynamo: CartDynamo;

  constructor(dynamo: CartDynamo) {
    this.#dynamo = dynamo;
  }

  /**
   * The cart, merged from its siblings. When the read found several, the merge is written
   * back with the read's context (read-time reconciliation) so that later reads find one;
   * that write is best-effort: if it fails, the next read merges again.
   */
  async read(id: string): Promise<CartView> {
    const { values, context } = await this.#dynamo.get(keyOf(id));
    const items = mergeCarts(values);
    if (values.length > 1) await this.#dynamo.put(keyOf(id), items, { context }).catch(() => {});
    return { id, items, siblings: values.length };
  }

  /** Adds `qty` of `sku` to the cart. */
  add(id: string, sku: string, qty: number): Promise<CartView> {
    return this.#change(id, (cart) => addItem(cart, sku, qty));
  }

  /** Removes `sku` from the cart (a no-op write when it is not there). */
  remove(id: string, sku: string): Promise<CartView> {
    return this.#change(id, (cart) => removeItem(cart, sku));
  }

  /** This member's replica of the cart (no quorum): what replication has brought here. */
  async readLocal(id: string): Promise<LocalCartView> {
    const local = await this.#dynamo.readLocal(keyOf(id));
    const values = local?.values ?? [];
    return {
      id,
      found: local !== undefined,
      items: mergeCarts(values),
      siblings: values.length,
      owners: this.#dynamo.preferenceList(keyOf(id)),
    };
  }

  async #change(id: string, change: (cart: Cart) => Cart): Promise<CartView> {
    const { values, context } = await this.#dynamo.get(keyOf(id));
    const items = change(mergeCarts(values));
    await this.#dynamo.put(keyOf(id), items, { context });
    return { id, items, siblings: values.length };
  }
}

function keyOf(id: string): string {
  return `cart:${id}`;
}

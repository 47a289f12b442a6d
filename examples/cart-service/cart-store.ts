/**
 * Carts kept in a {@link Dynamo} cluster: each cart is one key, `cart:<id>`, holding a CRDT
 * (./cart.ts). Every change is a read-modify-write: read (R replicas; `get` merges the
 * siblings), apply the change, write with the read's context, so the write supersedes what
 * was read; a concurrent write elsewhere survives as a sibling, and the next read merges it.
 *
 * The actor of this store's changes is the member's id plus a tag drawn at start-up (a new
 * one per process, so a restarted member never reuses the dots of its previous life). An
 * actor must never make two different changes with the same dot, so the store
 *  - runs the changes of one cart one at a time, and
 *  - merges the last state it wrote into what it reads: a sloppy-quorum read may miss this
 *    member's own previous write, and building on it keeps the dots counting up.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Dynamo } from '../../src/index.js';
import { addItem, itemsOf, mergeCarts, removeItem, type Cart, type CartState } from './cart.js';

/** The few members of `Dynamo` the store uses. */
export type CartDynamo = Pick<Dynamo, 'id' | 'get' | 'put' | 'readLocal' | 'preferenceList'>;

/** A cart as a quorum read saw it. */
export interface CartView {
  readonly id: string;
  /** The cart: SKU → quantity. */
  readonly items: Cart;
  /** Versions the read found: 0 (no cart yet) or 1 (concurrent versions merge on read). */
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

/** Carts whose last written state the store remembers (the least recently changed go first). */
const REMEMBERED_CARTS = 10_000;

/** Whether `id` is a valid cart id. */
export function isCartId(id: unknown): id is string {
  return typeof id === 'string' && CART_ID.test(id);
}

/** Reads and changes carts through one member of the cluster. */
export class CartStore {
  readonly #dynamo: CartDynamo;
  /** The actor of every change made here. */
  readonly #actor: string;
  /** Per cart, the tail of its queue of changes. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Per cart, the state this store last wrote, in order of writing. */
  readonly #written = new Map<string, CartState>();

  constructor(dynamo: CartDynamo) {
    this.#dynamo = dynamo;
    this.#actor = `${dynamo.id}#${randomBytes(4).toString('hex')}`;
  }

  /**
   * The cart. `get` merges concurrent versions (CRDTs) and writes the merge back itself;
   * should the read still find several values (some not carts), the merge of the carts is
   * written back with the read's context, best-effort: if it fails, the next read merges again.
   */
  async read(id: string): Promise<CartView> {
    const { values, context } = await this.#dynamo.get(keyOf(id));
    const cart = mergeCarts(values);
    if (values.length > 1) await this.#dynamo.put(keyOf(id), cart, { context }).catch(() => {});
    return { id, items: itemsOf(cart), siblings: values.length };
  }

  /** Adds `qty` of `sku` to the cart. */
  add(id: string, sku: string, qty: number): Promise<CartView> {
    return this.#change(id, (cart) => addItem(cart, this.#actor, sku, qty));
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
      items: itemsOf(mergeCarts(values)),
      siblings: values.length,
      owners: this.#dynamo.preferenceList(keyOf(id)),
    };
  }

  /** Runs `change` on the cart after every change of it already queued here. */
  #change(id: string, change: (cart: CartState) => CartState): Promise<CartView> {
    const previous = this.#queues.get(id) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => this.#readChangeWrite(id, change));
    this.#queues.set(id, run);
    const forget = () => {
      if (this.#queues.get(id) === run) this.#queues.delete(id);
    };
    run.then(forget, forget);
    return run;
  }

  async #readChangeWrite(id: string, change: (cart: CartState) => CartState): Promise<CartView> {
    const { values, context } = await this.#dynamo.get(keyOf(id));
    const read = mergeCarts(values);
    const mine = this.#written.get(id);
    const cart = change(mine === undefined ? read : read.merge(mine));
    // Remembered even if the write fails: a failed write may still have reached a replica,
    // and its dots must not be reused (so the change may yet show up, as its outcome is unknown).
    this.#remember(id, cart);
    await this.#dynamo.put(keyOf(id), cart, { context });
    return { id, items: itemsOf(cart), siblings: values.length };
  }

  #remember(id: string, cart: CartState): void {
    this.#written.delete(id);
    this.#written.set(id, cart);
    if (this.#written.size > REMEMBERED_CARTS) this.#written.delete(this.#written.keys().next().value!);
  }
}

function keyOf(id: string): string {
  return `cart:${id}`;
}

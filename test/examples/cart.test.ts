import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ORMap, ORSet, PNCounter } from '../../src/index.js';
import { addItem, emptyCart, isQty, isSku, itemsOf, mergeCarts, removeItem, type CartState } from '../../examples/cart-service/cart.js';
import { ConfigError, parseConfig } from '../../examples/cart-service/config.js';

test('addItem and removeItem return new carts; quantities add up and are capped', () => {
  const cart = emptyCart();
  const one = addItem(cart, 'a', 'book', 2);
  assert.deepEqual(itemsOf(cart), {});
  assert.deepEqual(itemsOf(addItem(one, 'a', 'book', 3)), { book: 5 });
  assert.deepEqual(itemsOf(addItem(one, 'a', 'book', 1_000_000)), { book: 1_000_000 }, 'capped');
  const full = addItem(one, 'a', 'book', 1_000_000);
  assert.equal(addItem(full, 'a', 'book', 1), full, 'nothing to add past the cap');
  assert.deepEqual(itemsOf(removeItem(one, 'book')), {});
  assert.deepEqual(itemsOf(removeItem(one, 'pen')), { book: 2 });
  assert.deepEqual(Object.keys(itemsOf(addItem(addItem(cart, 'a', 'pen', 1), 'a', 'book', 1))), ['book', 'pen'], 'sorted');
});

test('mergeCarts: a removed item stays removed, concurrent adds are all kept and add up; non-carts ignored', () => {
  assert.deepEqual(itemsOf(mergeCarts([])), {});
  const base = addItem(addItem(emptyCart(), 'a', 'book', 1), 'a', 'pen', 2);
  // Two writers change the same version concurrently: one removes the pen and adds a mug,
  // the other adds a lamp and one more book.
  const left = addItem(removeItem(base, 'pen'), 'a', 'mug', 1);
  const right = addItem(addItem(base, 'b', 'lamp', 1), 'b', 'book', 1);
  assert.deepEqual(itemsOf(mergeCarts([left, right])), { book: 2, lamp: 1, mug: 1 });
  assert.deepEqual(itemsOf(mergeCarts([right, left])), { book: 2, lamp: 1, mug: 1 }, 'in any order');
  // An add of the pen the remover had not seen keeps the pen, with that add's quantity only.
  const again = addItem(base, 'b', 'pen', 1);
  assert.deepEqual(itemsOf(mergeCarts([left, again])), { book: 1, mug: 1, pen: 1 });
  assert.deepEqual(itemsOf(mergeCarts([null, 'x', [1], { book: 1 }, ORSet.empty<string>().add('a', 'x'), base])), { book: 1, pen: 2 });
});

test('itemsOf shows only valid lines: counters at a valid SKU with a quantity of at least 1', () => {
  const cart: CartState = ORMap.empty()
    .update('a', 'book', PNCounter, (q) => q.increment('a', 1))
    .update('a', 'bad sku', PNCounter, (q) => q.increment('a', 1))
    .update('a', 'zero', PNCounter, (q) => q.increment('a', 1).decrement('a', 1))
    .update('a', 'note', ORSet, (s) => s.add('a', 'gift'));
  assert.deepEqual(itemsOf(cart), { book: 1 });
});

test('SKUs and quantities are validated; no SKU can be __proto__', () => {
  for (const sku of ['book', 'A-1', 'x.y_z']) assert.ok(isSku(sku), sku);
  for (const sku of ['', '__proto__', '-a', 'a b', 'a/b', 'x'.repeat(65), 1]) assert.ok(!isSku(sku), String(sku));
  for (const qty of [1, 1_000_000]) assert.ok(isQty(qty));
  for (const qty of [0, -1, 1.5, 1_000_001, '1', Number.NaN]) assert.ok(!isQty(qty), String(qty));
});

test('parseConfig: flags win over CART_* variables; bad settings are named', () => {
  const config = parseConfig(['--peer-port', '7001', '--seeds', 'h:1, h:2', '--w', '3'], {
    CART_PEER_PORT: '9', CART_ID: 'a', CART_SECRET: 's'.repeat(16), CART_HTTP_PORT: '8001',
  });
  assert.equal(config.peerPort, 7001);
  assert.equal(config.httpPort, 8001);
  assert.deepEqual([config.id, config.seeds, config.w, config.n], ['a', ['h:1', 'h:2'], 3, undefined]);
  assert.equal(config.secret, 's'.repeat(16));
  assert.equal(config.dataDir, 'cart-data/a');
  assert.equal(parseConfig(['--peer-port', '7001'], {}).id, '127.0.0.1:7001');
  const bad: [string[], RegExp][] = [
    [[], /--peer-port is required/],
    [['--peer-port', '0'], /peer-port must be a port in 1\.\.65535/],
    [['--peer-port', '1', '--secret', 'short'], /16 bytes/],
    [['--peer-port', '1', '--tls-key', 'k.pem'], /all three/],
    [['--peer-port', '1', '--n', 'three'], /--n must be a positive integer/],
    [['--peer-port', '1', '--bogus', 'x'], /bogus/],
  ];
  for (const [argv, message] of bad) assert.throws(() => parseConfig(argv, {}), (e) => e instanceof ConfigError && message.test(e.message));
});

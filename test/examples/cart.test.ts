import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addItem, emptyCart, isQty, isSku, mergeCarts, removeItem } from '../../examples/cart-service/cart.js';
import { ConfigError, parseConfig } from '../../examples/cart-service/config.js';

test('mergeCarts: union of the SKUs at the largest quantity; non-carts ignored', () => {
  assert.deepEqual(mergeCarts([]), {});
  assert.deepEqual(mergeCarts([{ book: 1, pen: 2 }, { pen: 5, lamp: 1 }]), { book: 1, lamp: 1, pen: 5 });
  assert.deepEqual(mergeCarts([null, 'x', [1], { book: 1, bad: -1, ' no': 2 }]), { book: 1 });
  assert.deepEqual(Object.keys(mergeCarts([{ b: 1 }, { a: 1 }])), ['a', 'b'], 'sorted, so equal carts encode alike');
});

test('addItem and removeItem return new carts', () => {
  const cart = emptyCart();
  const one = addItem(cart, 'book', 2);
  assert.deepEqual(cart, {});
  assert.deepEqual(addItem(one, 'book', 3), { book: 5 });
  assert.deepEqual(addItem(one, 'book', 1_000_000), { book: 1_000_000 }, 'capped');
  assert.deepEqual(removeItem(one, 'book'), {});
  assert.deepEqual(removeItem(one, 'pen'), { book: 2 });
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

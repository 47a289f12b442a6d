// The shopping cart of the Dynamo paper, on five libdynamo members in this one process,
// each keeping its data in LevelDB under a temporary folder.
//
// The cart is a CRDT: an ORMap from SKU to a PNCounter (the quantity). Two shoppers change
// the same cart while the network is split in two. Both sides keep accepting writes with the
// usual quorums (R=2, W=2): each side writes to the reachable owners plus stand-ins that keep
// hints for the owners they cannot reach (sloppy quorum). One side removes an item, the other
// adds items. After the network heals, the owners hold both versions (siblings), and a read
// merges them by itself: both adds are kept, and the removed item stays removed. The paper's
// cart (a set union of plain values) brought removed items back; a CRDT does not.
//
// Run it with `npm start`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dynamo, InMemoryNetwork, LevelStorage, ORMap, PNCounter } from '../../src/index.js';

/** The cart: SKU → quantity, as a CRDT that merges concurrent versions exactly. */
type Cart = ORMap;

const say = (text: string) => console.log(text);
const statusOf = (observer: Dynamo, id: string) => observer.members().find((m) => m.id === id)?.status;

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** `{book: 2, pen: 1}` as `[book ×2, pen ×1]`. */
const show = (cart: Cart | undefined) =>
  `[${(cart?.keys() ?? []).map((sku) => `${sku} ×${cart!.get(sku, PNCounter)!.value()}`).join(', ')}]`;

/** `qty` more of `sku`, counted under `actor` (the device making the change). */
const addItem = (actor: string, sku: string, qty = 1) => (cart: Cart | undefined): Cart =>
  (cart ?? ORMap.empty()).update(actor, sku, PNCounter, (q) => q.increment(actor, qty));

/** The cart without `sku`: removes what this version of the cart has seen of it. */
const removeItem = (sku: string) => (cart: Cart | undefined): Cart => (cart ?? ORMap.empty()).remove(sku);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'libdynamo-cart-'));
  const net = new InMemoryNetwork();
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const members = ids.map(
    // A short gossip interval makes the failure detector notice the split within a second;
    // requests wait up to 2 s for replicas, which is plenty in one process.
    (id) =>
      new Dynamo({ id, transport: net.transport(id), storage: new LevelStorage(join(dir, id)), seeds: ids, timeoutMs: 2000, gossipIntervalMs: 50 }),
  );
  const member = (id: string) => members[ids.indexOf(id)]!;
  // Read-modify-write of the cart through one member. A get merges CRDT siblings itself, so
  // `carts` holds at most one cart; the put carries the get's context and supersedes it.
  // `pr: 1`: at least one of the R answers must come from a true owner of the cart, not
  // only from stand-ins (which hold nothing of it until they are written to) — a sloppy
  // quorum read could otherwise see an empty cart. Each side of the split keeps an owner.
  const change = (via: string, fn: (cart: Cart | undefined) => Cart) => member(via).update<Cart>(key, (carts) => fn(carts[0]), { pr: 1 });
  const read = async (via: string, r?: number) => (await member(via).get<Cart>(key, r === undefined ? { pr: 1 } : { r, pr: 1 })).values;
  const key = 'cart:alice';

  try {
    say(`1. Starting five members (N=3 replicas per key, R=2, W=2), data in ${dir}`);
    await Promise.all(members.map((m) => m.start()));

    const owners = member('n1').preferenceList(key);
    const others = ids.filter((id) => !owners.includes(id));
    say(`   The cart "${key}" is kept by ${owners.join(', ')} (its preference list).`);
    say('   The cart is an ORMap (a CRDT) from SKU to a PNCounter holding the quantity.');
    say('   Each device changes it under its own actor name: "phone" and "laptop".');

    say('\n2. On her laptop, Alice puts a book and two pens in her cart.');
    await change(others[0]!, addItem('laptop', 'book'));
    await change(others[0]!, addItem('laptop', 'pen', 2));
    say(`   Everyone sees ${show((await read(owners[0]!))[0])}.`);

    const sideA = [owners[0]!, ...others];
    const sideB = [owners[1]!, owners[2]!];
    say(`\n3. The network splits: {${sideA.join(', ')}} cannot reach {${sideB.join(', ')}}.`);
    net.partition(sideA, sideB);
    await until(() =>
      sideA.every((id) => sideB.every((other) => statusOf(member(id), other) === 'down' && statusOf(member(other), id) === 'down')),
    );
    say('   Each side\'s failure detector soon marks the other side down. Requests then go to the');
    say('   reachable owners plus stand-ins, so both sides still read and write with R=2, W=2.');

    say(`\n4. On her phone (talking to ${others[0]}), Alice removes the pens and adds a mug.`);
    await change(others[0]!, removeItem('pen'));
    await change(others[0]!, addItem('phone', 'mug'));
    say(`   Accepted. That side now sees ${show((await read(others[0]!))[0])}.`);

    say(`\n5. On her laptop (talking to ${sideB[0]}), which still shows the pens, she adds a lamp`);
    say('   and a second book.');
    await change(sideB[0]!, addItem('laptop', 'lamp'));
    await change(sideB[0]!, addItem('laptop', 'book'));
    say(`   Accepted. That side now sees ${show((await read(sideB[0]!))[0])}.`);
    const hints = (await Promise.all(members.map((m) => m.hintsPending()))).reduce((a, b) => a + b, 0);
    say(`   Stand-ins hold ${hints} hints: copies for the owners they could not reach.`);

    say('\n6. The network heals. The stand-ins hand their hints to the owners.');
    net.heal();
    await until(async () => (await Promise.all(members.map((m) => m.hintsPending()))).every((h) => h === 0));
    const stored = (await member(sideB[0]!).readLocal<Cart>(key))?.values ?? [];
    if (stored.length > 1) {
      say(`   ${sideB[0]} now stores ${stored.length} versions of the cart, written concurrently:`);
      for (const cart of stored) say(`     - ${show(cart)}`);
    } else {
      say(`   The two sides wrote concurrent versions; the cart's first owner already merged them`);
      say(`   (it writes the merge of CRDT versions as soon as they meet). ${sideB[0]} stores ${show(stored[0])}.`);
    }
    say('   The paper\'s cart (the union of plain values) would bring the pens back here: one');
    say('   version still lists them, and a union cannot tell "removed" from "never added".');

    say('\n7. Alice reads her cart. Any versions still concurrent are CRDTs of one kind: they');
    say('   merge by themselves, and the merge is written back with the read\'s context.');
    const merged = await read(owners[0]!, 3);
    say(`   The read returns ${merged.length} cart: ${show(merged[0])}.`);
    say('   The mug (phone) and the lamp and second book (laptop) are all kept; the pens, removed');
    say('   on the phone after it had seen them, stay removed.');
    if (merged[0]?.has('pen') === true) {
      say('   (Not this time: the phone\'s read had not seen the pens, so its remove removed nothing.');
      say('   A remove only takes out what its read observed.)');
    }

    const final = await read(others[others.length - 1]!, 3);
    say(`\n8. A later read through ${others[others.length - 1]} returns ${final.length} cart: ${show(final[0])}.`);
    // A write is answered once W replicas have it; the last replica, and the read repair of
    // whatever a read found stale, finish in the background within moments.
    const versionsHeld = () => Promise.all(owners.map(async (id) => (await member(id).readLocal<Cart>(key))?.values.length ?? 0));
    let local = await versionsHeld();
    for (let i = 0; i < 100 && local.some((n) => n !== 1); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      local = await versionsHeld();
    }
    say(`   The owners ${owners.join(', ')} each store ${local.join(', ')} version(s)${local.every((n) => n === 1) ? ': no siblings left.' : '.'}`);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

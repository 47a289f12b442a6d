// The shopping cart of the Dynamo paper, on five libdynamo members in this one process,
// each keeping its data in LevelDB under a temporary folder.
//
// Two shoppers add items to the same cart while the network is split in two. Both adds
// are accepted with the usual quorums (R=2, W=2): each side writes to the reachable owners
// plus stand-ins that keep hints for the owners they cannot reach (sloppy quorum). After the
// network heals, the hints reach the owners, a read returns both versions of the cart
// (siblings), and the application merges them (a set union) and writes the merge back.
//
// Run it with `npm start`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dynamo, InMemoryNetwork, LevelStorage } from '../../src/index.js';

type Cart = string[];

const say = (text: string) => console.log(text);
const statusOf = (observer: Dynamo, id: string) => observer.members().find((m) => m.id === id)?.status;

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}
const show = (cart: Cart) => `[${cart.join(', ')}]`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'libdynamo-cart-'));
  const net = new InMemoryNetwork();
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const members = ids.map(
    // A short gossip interval makes the failure detector notice the split within a second.
    (id) =>
      new Dynamo({ id, transport: net.transport(id), storage: new LevelStorage(join(dir, id)), seeds: ids, timeoutMs: 500, gossipIntervalMs: 50 }),
  );
  const member = (id: string) => members[ids.indexOf(id)]!;

  try {
    say(`1. Starting five members (N=3 replicas per key, R=2, W=2), data in ${dir}`);
    await Promise.all(members.map((m) => m.start()));

    const key = 'cart:alice';
    const owners = member('n1').preferenceList(key);
    const others = ids.filter((id) => !owners.includes(id));
    say(`   The cart "${key}" is kept by ${owners.join(', ')} (its preference list).`);

    say('\n2. Alice puts a book in her cart.');
    await member(others[0]!).put<Cart>(key, ['book']);
    say(`   ${owners[0]} now holds ${show((await member(owners[0]!).readLocal<Cart>(key))!.values[0]!)}.`);

    const sideA = [owners[0]!, ...others];
    const sideB = [owners[1]!, owners[2]!];
    say(`\n3. The network splits: {${sideA.join(', ')}} cannot reach {${sideB.join(', ')}}.`);
    net.partition(sideA, sideB);
    await until(() => sideA.every((id) => sideB.every((other) => statusOf(member(id), other) === 'down')));
    say('   Each side\'s failure detector soon marks the other side down. Requests then go to the');
    say('   reachable owners plus stand-ins, so both sides still read and write with R=2, W=2.');

    say(`\n4. On her phone (talking to ${others[0]}), Alice adds a pen.`);
    await member(others[0]!).update<Cart>(key, (carts) => [...carts[0]!, 'pen']);
    say(`   Accepted. That side now sees ${show((await member(others[0]!).get<Cart>(key)).values[0]!)}.`);

    say(`\n5. On her laptop (talking to ${sideB[0]}), she adds a lamp.`);
    await member(sideB[0]!).update<Cart>(key, (carts) => [...carts[0]!, 'lamp']);
    say(`   Accepted. That side now sees ${show((await member(sideB[0]!).get<Cart>(key)).values[0]!)}.`);
    const hints = (await Promise.all(members.map((m) => m.hintsPending()))).reduce((a, b) => a + b, 0);
    say(`   Stand-ins hold ${hints} hints: copies for the owners they could not reach.`);

    say('\n6. The network heals. The stand-ins hand their hints to the owners.');
    net.heal();
    await until(async () => (await Promise.all(members.map((m) => m.hintsPending()))).every((h) => h === 0));
    const both = await member('n1').get<Cart>(key, { r: 3 });
    say(`   A read now returns ${both.values.length} versions of the cart, written concurrently:`);
    for (const cart of both.values) say(`     - ${show(cart)}`);

    say('\n7. The application merges them (the union of the items) and writes the result back');
    say('   with the context of that read, so the new cart supersedes both versions.');
    const merged = [...new Set(both.values.flat())].sort();
    await member('n1').put<Cart>(key, merged, { context: both.context });

    const final = await member('n2').get<Cart>(key, { r: 3 });
    say(`\n8. A later read returns ${final.values.length} cart: ${show(final.values[0]!)}. No add was lost.`);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

// Starts and stops small clusters on an InMemoryNetwork for tests.
import { Dynamo, InMemoryNetwork, MemoryStorage, type DynamoOptions, type InMemoryNetworkOptions, type Storage } from '../../src/index.js';

export interface TestCluster {
  readonly net: InMemoryNetwork;
  readonly nodes: Dynamo[];
  readonly ids: string[];
  node(id: string): Dynamo;
  stop(): Promise<void>;
}

export interface TestClusterOptions extends Partial<Omit<DynamoOptions, 'transport' | 'id' | 'storage'>> {
  network?: InMemoryNetworkOptions;
  storage?: (id: string) => Storage;
  ids?: string[];
}

export async function startCluster(count: number, options: TestClusterOptions = {}): Promise<TestCluster> {
  const { network, storage, ids: givenIds, ...dynamoOptions } = options;
  const net = new InMemoryNetwork(network);
  const ids = givenIds ?? Array.from({ length: count }, (_, i) => `n${i + 1}`);
  const nodes = ids.map(
    (id) =>
      new Dynamo({
        seeds: ids,
        ...dynamoOptions,
        id,
        transport: net.transport(id),
        storage: storage?.(id) ?? new MemoryStorage(),
      }),
  );
  await Promise.all(nodes.map((n) => n.start()));
  return {
    net,
    nodes,
    ids,
    node(id) {
      const found = nodes[ids.indexOf(id)];
      if (found === undefined) throw new Error(`no node ${id}`);
      return found;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** A key whose preference list starts with `first` (if given) and does not include `avoid`. */
export function findKey(
  cluster: TestCluster,
  predicate: (owners: string[]) => boolean,
  prefix = 'key',
): string {
  for (let i = 0; i < 100_000; i++) {
    const key = `${prefix}:${i}`;
    if (predicate(cluster.nodes[0]!.preferenceList(key))) return key;
  }
  throw new Error('no key matches');
}

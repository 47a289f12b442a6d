/**
 * libdynamo: Amazon's Dynamo (SOSP 2007) as an embeddable TypeScript library.
 *
 * @example
 * ```ts
 * import { Dynamo, InMemoryNetwork } from 'libdynamo';
 *
 * const net = new InMemoryNetwork();
 * const ids = ['a', 'b', 'c'];
 * const nodes = ids.map((id) => new Dynamo({ id, transport: net.transport(id), seeds: ids }));
 * await Promise.all(nodes.map((n) => n.start()));
 *
 * const [a, b] = nodes;
 * const { context } = await a.put('cart:alice', ['book']);
 * const cart = await b.get<string[]>('cart:alice');   // { values: [['book']], context }
 * await b.put('cart:alice', ['book', 'pen'], { context: cart.context });
 * await Promise.all(nodes.map((n) => n.stop()));
 * ```
 * @module
 */
export { Dynamo, type GetResult, type PutResult, type RingInfo, type Placement } from './dynamo.js';
export type { Logger } from './logger.js';
export { DEFAULTS, type DynamoOptions, type RequestOptions, type ClockPruningOptions } from './config.js';
export { DynamoError, QuorumError, TimeoutError, ValidationError, type DynamoErrorOptions } from './errors.js';
export type {
  DynamoEvents,
  RingChangedEvent,
  RepairEvent,
  ConflictEvent,
  HintEvent,
  SyncReport,
} from './events.js';
export type { MemberInfo } from './membership/member-table.js';
export type { MetricsSnapshot, LatencySummary, OperationName, ReplicaOperationName } from './metrics/metrics.js';
export { formatPrometheus, type PrometheusOptions } from './metrics/prometheus.js';
export type { Key } from './keys.js';
export { MemoryStorage } from './storage/memory.js';
export { LevelStorage, type LevelStorageOptions } from './storage/level.js';
export type { Storage, StorageOp, StorageSupports, IterateOptions, Space } from './storage/storage.js';
export { InMemoryNetwork, type InMemoryNetworkOptions, type InMemoryTransport, type NetworkStats } from './transport/memory.js';
export { TcpTransport, TCP_DEFAULTS, type TcpTransportOptions, type TcpTlsOptions, type TcpLogger } from './transport/tcp.js';
export type { Transport, Message, RequestHandler, RequestOptions as TransportRequestOptions } from './transport/transport.js';
export { systemClock, ManualClock, type Clock, type TimerHandle } from './time/clock.js';
export { seededRandom, type Random } from './time/random.js';
export * from './crdt/index.js';
export { lastWriteWins, union, type Resolver, type SiblingInfo } from './resolve/resolvers.js';

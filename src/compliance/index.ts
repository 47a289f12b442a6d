/**
 * `libdynamo/compliance`: the test suites a backend runs to show it keeps an interface's
 * contract. Each takes the test runner as an argument, so it runs under node:test, vitest
 * or mocha.
 *
 * @example
 * ```ts
 * import { test } from 'node:test';
 * import { storageComplianceSuite } from 'libdynamo/compliance';
 * storageComplianceSuite(test, { create: () => new MyStorage() });
 * ```
 * @module
 */
export * from './storage.js';
export { transportComplianceSuite, type TransportSuiteOptions } from './transport.js';
export type { TestFn } from './test-fn.js';

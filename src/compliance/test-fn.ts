/**
 * The one thing a compliance suite needs from a test runner: `test(name, fn)`. node:test's
 * `test`, vitest's `test` and mocha's `it` all fit.
 * @module
 */
export type TestFn = (name: string, fn: () => void | Promise<void>) => unknown;

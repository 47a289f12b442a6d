/**
 * The one thing a compliance suite needs from a test runner: `test(name, fn)`. node:test's
 * `test`, vitest's `test` and mocha's `it` all fit.
 * @module
 */
/** Registers a test called `name` whose body is `fn` (sync or async); what it returns is ignored. */
export type TestFn = (name: string, fn: () => void | Promise<void>) => unknown;

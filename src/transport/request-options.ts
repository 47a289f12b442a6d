/**
 * The checks every transport makes of a request's options before sending anything.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { RequestOptions } from './transport.js';

/** `options.timeoutMs` when it is a positive finite number; else the error to reject with. */
export function requestTimeoutMs(options: RequestOptions | undefined): number | ValidationError {
  const timeoutMs: unknown = options?.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    return new ValidationError(`timeoutMs must be a positive finite number, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/**
 * Bytes as Latin-1 strings (one char per byte): how byte keys become `Map` keys. Short
 * inputs are converted by a loop, which beats a call into Node's native conversion below
 * {@link SHORT} bytes; longer ones go through `Buffer`.
 * @module
 */
import { Buffer } from 'node:buffer';

/** Below this many bytes a loop beats a call into Node's native Latin-1 conversions. */
const SHORT = 24;

/** `bytes` as a string of one char per byte; different bytes give different strings. */
export function toLatin1(bytes: Uint8Array): string {
  const length = bytes.length;
  if (length < SHORT) {
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[i]!);
    return text;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('latin1');
}

/** The bytes `text` (from {@link toLatin1}) stands for, in a fresh `ArrayBuffer` of their own. */
export function fromLatin1(text: string): Uint8Array {
  const length = text.length;
  const bytes = new Uint8Array(length);
  if (length < SHORT) {
    for (let i = 0; i < length; i++) bytes[i] = text.charCodeAt(i);
  } else {
    Buffer.from(bytes.buffer, 0, length).write(text, 'latin1');
  }
  return bytes;
}

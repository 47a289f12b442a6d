/**
 * A fast, non-cryptographic 32-bit hash of a string's UTF-16 units (FNV-1a), for spreading
 * keys over the key lock's stripes (../replica/key-lock.ts).
 * Never stored or sent: it may change between releases.
 * @module
 */

/** FNV-1a of `text`'s char codes, as a signed 32-bit integer; fold it to the width needed. */
export function stringHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Hashing for the ring: where a key lands, and the per-member randomness that decides who
 * owns each partition.
 *
 * Key positions come from MurmurHash3 x64 128-bit (seed 0), as Dynamo places keys with a
 * 128-bit hash (MD5 in the paper, §4.2); placement needs an even spread, not cryptographic
 * strength. Only the first 32 bits are kept: the ring never has more than 2^16 partitions, so
 * the rest could never change a placement, and a 32-bit position stays a plain integer.
 *
 * The hash is computed here with 32-bit integer arithmetic (Appleby's MurmurHash3_x64_128,
 * each 64-bit word held as two 32-bit halves). `murmurhash3js-revisited` stays the reference:
 * the tests check this implementation against it bit for bit. Its `x64.hash128` builds
 * arrays for every 64-bit step and a hex string for the result, about 3 µs for a short key;
 * this one allocates nothing and takes about a tenth of that, and every get and put hashes
 * its key.
 *
 * Ownership is decided by rendezvous hashing (Thaler & Ravishankar 1998), which needs one
 * pseudo-random number per (member, partition) pair: Q × S of them per ring build. Those
 * come from the murmur3 32-bit finaliser applied twice with a 64-bit member seed, using only
 * integer operations so that a 100-member ring builds in a few milliseconds.
 * @module
 */
const utf8 = new TextEncoder();

/**
 * The unsigned 32-bit ring position of a key: the first 32 bits of its MurmurHash3 x64
 * 128-bit hash with seed 0 (the high half of `h1` in the reference implementation).
 *
 * This is a wire-level contract: every member must place every key identically, so changing
 * it is a breaking change to the stored data layout.
 */
export function hashKey(key: Uint8Array): number {
  murmur3x64(key);
  return h1h >>> 0;
}

/**
 * A member's 64-bit rendezvous seed, as two unsigned 32-bit words: the first 64 bits of the
 * MurmurHash3 x64 128-bit hash of the id's UTF-8 bytes. Sixty-four bits rather than 32 so
 * that two ids colliding (and then tying on every partition) is out of reach in practice.
 */
export function memberSeed(id: string): readonly [number, number] {
  murmur3x64(utf8.encode(id));
  return [h1h >>> 0, h1l >>> 0];
}

/**
 * The full MurmurHash3 x64 128-bit hash of `bytes` with seed 0, as four unsigned 32-bit words
 * from the most significant: `h1` high, `h1` low, `h2` high, `h2` low. The reference's hex
 * string is these words in order, eight digits each.
 */
export function murmur3x64Words(bytes: Uint8Array): [number, number, number, number] {
  murmur3x64(bytes);
  return [h1h >>> 0, h1l >>> 0, h2h >>> 0, h2l >>> 0];
}

// MurmurHash3_x64_128 (Austin Appleby, public domain; smhasher's MurmurHash3.cpp) with each
// 64-bit word as a signed 32-bit high half `…h` and low half `…l`. The state lives in module
// variables so that a hash allocates nothing; nothing here awaits, so no two hashes interleave.
let h1h = 0;
let h1l = 0;
let h2h = 0;
let h2l = 0;
/** Result of the last {@link mul64} or {@link fmix64}. */
let rh = 0;
let rl = 0;

// c1 = 0x87c37b91114253d5, c2 = 0x4cf5ad432745937f, and fmix64's two multipliers.
const C1H = 0x87c37b91 | 0;
const C1L = 0x114253d5;
const C2H = 0x4cf5ad43;
const C2L = 0x2745937f;
const F1H = 0xff51afd7 | 0;
const F1L = 0xed558ccd | 0;
const F2H = 0xc4ceb9fe | 0;
const F2L = 0x1a85ec53;

/** (ah:al) × (bh:bl) mod 2^64 into rh:rl. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  // The high word of the 32 × 32 → 64-bit product al × bl, from 16-bit limbs so that every
  // intermediate stays an exact integer below 2^32.
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const mid1 = a1 * b0 + ((a0 * b0) >>> 16);
  const mid2 = a0 * b1 + (mid1 & 0xffff);
  const carry = a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16);
  rl = Math.imul(al, bl);
  rh = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
}

/** fmix64(h:l) into rh:rl. */
function fmix64(h: number, l: number): void {
  l ^= h >>> 1; // k ^= k >>> 33
  mul64(h, l, F1H, F1L);
  h = rh;
  l = rl ^ (rh >>> 1);
  mul64(h, l, F2H, F2L);
  rl ^= rh >>> 1;
}

function murmur3x64(bytes: Uint8Array): void {
  const length = bytes.length;
  const blocks = length - (length & 15);
  let ah = 0; // h1
  let al = 0;
  let bh = 0; // h2
  let bl = 0;
  let kh: number;
  let kl: number;
  let t: number;
  for (let i = 0; i < blocks; i += 16) {
    // k1: bytes i..i+7, little-endian.
    kl = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    kh = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    mul64(kh, kl, C1H, C1L);
    // rotl 31
    kh = (rh << 31) | (rl >>> 1);
    kl = (rl << 31) | (rh >>> 1);
    mul64(kh, kl, C2H, C2L);
    ah ^= rh;
    al ^= rl;
    // h1 = rotl(h1, 27) + h2, then h1 * 5 + 0x52dce729
    t = ah;
    ah = (ah << 27) | (al >>> 5);
    al = (al << 27) | (t >>> 5);
    t = (al >>> 0) + (bl >>> 0);
    ah = (ah + bh + (t > 0xffffffff ? 1 : 0)) | 0;
    al = t | 0;
    mul64(ah, al, 0, 5);
    t = (rl >>> 0) + 0x52dce729;
    ah = (rh + (t > 0xffffffff ? 1 : 0)) | 0;
    al = t | 0;

    // k2: bytes i+8..i+15.
    kl = bytes[i + 8]! | (bytes[i + 9]! << 8) | (bytes[i + 10]! << 16) | (bytes[i + 11]! << 24);
    kh = bytes[i + 12]! | (bytes[i + 13]! << 8) | (bytes[i + 14]! << 16) | (bytes[i + 15]! << 24);
    mul64(kh, kl, C2H, C2L);
    // rotl 33: swap halves, then rotl 1
    kh = (rl << 1) | (rh >>> 31);
    kl = (rh << 1) | (rl >>> 31);
    mul64(kh, kl, C1H, C1L);
    bh ^= rh;
    bl ^= rl;
    // h2 = rotl(h2, 31) + h1, then h2 * 5 + 0x38495ab5
    t = bh;
    bh = (bh << 31) | (bl >>> 1);
    bl = (bl << 31) | (t >>> 1);
    t = (bl >>> 0) + (al >>> 0);
    bh = (bh + ah + (t > 0xffffffff ? 1 : 0)) | 0;
    bl = t | 0;
    mul64(bh, bl, 0, 5);
    t = (rl >>> 0) + 0x38495ab5;
    bh = (rh + (t > 0xffffffff ? 1 : 0)) | 0;
    bl = t | 0;
  }

  const tail = length & 15;
  if (tail > 8) {
    kl = 0;
    kh = 0;
    for (let j = tail - 1; j >= 8; j--) {
      if (j >= 12) kh |= bytes[blocks + j]! << ((j - 12) * 8);
      else kl |= bytes[blocks + j]! << ((j - 8) * 8);
    }
    mul64(kh, kl, C2H, C2L);
    kh = (rl << 1) | (rh >>> 31);
    kl = (rh << 1) | (rl >>> 31);
    mul64(kh, kl, C1H, C1L);
    bh ^= rh;
    bl ^= rl;
  }
  if (tail > 0) {
    kl = 0;
    kh = 0;
    for (let j = Math.min(tail, 8) - 1; j >= 0; j--) {
      if (j >= 4) kh |= bytes[blocks + j]! << ((j - 4) * 8);
      else kl |= bytes[blocks + j]! << (j * 8);
    }
    mul64(kh, kl, C1H, C1L);
    kh = (rh << 31) | (rl >>> 1);
    kl = (rl << 31) | (rh >>> 1);
    mul64(kh, kl, C2H, C2L);
    ah ^= rh;
    al ^= rl;
  }

  // Finalisation. The length is below 2^32, so it only touches the low halves.
  al ^= length;
  bl ^= length;
  // h1 += h2; h2 += h1
  t = (al >>> 0) + (bl >>> 0);
  ah = (ah + bh + (t > 0xffffffff ? 1 : 0)) | 0;
  al = t | 0;
  t = (bl >>> 0) + (al >>> 0);
  bh = (bh + ah + (t > 0xffffffff ? 1 : 0)) | 0;
  bl = t | 0;
  fmix64(ah, al);
  ah = rh;
  al = rl;
  fmix64(bh, bl);
  bh = rh;
  bl = rl;
  t = (al >>> 0) + (bl >>> 0);
  ah = (ah + bh + (t > 0xffffffff ? 1 : 0)) | 0;
  al = t | 0;
  t = (bl >>> 0) + (al >>> 0);
  bh = (bh + ah + (t > 0xffffffff ? 1 : 0)) | 0;
  bl = t | 0;
  h1h = ah;
  h1l = al;
  h2h = bh;
  h2l = bl;
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers in which every input bit
 * affects every output bit with probability close to one half.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The rendezvous draw of one member for one partition, an unsigned 32-bit integer. The seed
 * words may be passed signed or unsigned; only their 32 bits matter.
 *
 * Two finaliser rounds keyed by different seed words. One round of `fmix32(partition ^ seed)`
 * would make every member's draws a permutation of every other's (member a's draw at p is
 * member b's at p ^ seedA ^ seedB), tying ownership of pairs of partitions together; adding
 * the second word between rounds breaks that symmetry for the price of two more multiplies.
 */
export function rendezvousDraw(seedHi: number, seedLo: number, partition: number): number {
  return fmix32((fmix32(partition ^ seedHi) + seedLo) | 0);
}

const TWO_POW_MINUS_32 = 2 ** -32;

/**
 * The weighted rendezvous score of a draw: `weight / -ln(u)` with `u` uniform in (0, 1).
 * Taking the highest score makes a member win with probability weight / total weight, and
 * raising one member's weight can only win it partitions, never move others between
 * third parties. The half-step offset keeps `u` strictly inside (0, 1) so the logarithm is
 * finite and non-zero.
 */
export function weightedScore(weight: number, draw: number): number {
  return weight / -Math.log((draw + 0.5) * TWO_POW_MINUS_32);
}

// murmurhash3js-revisited ships no types. It hashes bytes (not strings) and returns
// unsigned 32-bit integers from x86hash32 and hex strings from the 128-bit variants.
declare module 'murmurhash3js-revisited' {
  interface Murmur {
    x86: {
      hash32(bytes: Uint8Array | number[], seed?: number): number;
      hash128(bytes: Uint8Array | number[], seed?: number): string;
    };
    x64: {
      hash128(bytes: Uint8Array | number[], seed?: number): string;
    };
  }
  const murmur: Murmur;
  export default murmur;
}

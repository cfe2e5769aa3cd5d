/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF), as zlib computes it.
 * Table-driven; Node 20 does not export zlib.crc32 in every release line.
 */
const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `input` (a string is encoded as UTF-8), as an unsigned 32-bit integer. */
export function crc32(input: string | Uint8Array): number {
  if (typeof input === 'string') {
    const ascii = crc32Ascii(input, 0, input.length);
    if (ascii >= 0) return ascii;
  }
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * CRC-32 of `s[start, end)` when every character is ASCII (then UTF-16 code units are the UTF-8 bytes), without
 * encoding the string first: the authorizer checks a key's checksum on every request. -1 if a character is
 * not ASCII (the caller falls back to the UTF-8 bytes).
 */
export function crc32Ascii(s: string, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code > 0x7f) return -1;
    crc = TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

import { describe, expect, it } from 'vitest'
import { crc32c, crc32cCombine } from '../../src/log/crc32c'

/** The bit-at-a-time definition, to check the table-driven code against. */
function naiveCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return ~crc >>> 0
}

describe('crc32c', () => {
  it('matches the published check value and the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c)
    expect(crc32c(new Uint8Array(0))).toBe(0)
  })

  it('agrees with the bitwise definition for every length around the 16-byte fold', () => {
    let seed = 7
    for (let length = 0; length <= 70; length++) {
      const bytes = Uint8Array.from({ length }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24)
      expect(crc32c(bytes)).toBe(naiveCrc32c(bytes))
    }
  })

  it('checksums a sub-range and continues over chunks', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131) & 0xff)
    expect(crc32c(bytes, 100, 900)).toBe(naiveCrc32c(bytes.subarray(100, 900)))
    const first = crc32c(bytes, 0, 333)
    expect(crc32c(bytes, 333, 1000, first)).toBe(crc32c(bytes))
  })

  it('agrees with the bitwise definition at every alignment of the word loop', () => {
    const buffer = Uint8Array.from({ length: 400 }, (_, i) => (i * 197 + 11) & 0xff)
    for (let offset = 0; offset < 8; offset++) {
      for (const length of [63, 64, 65, 79, 80, 81, 200, 333]) {
        const view = buffer.subarray(offset, offset + length)
        expect(crc32c(view)).toBe(naiveCrc32c(view))
        expect(crc32c(buffer, offset, offset + length)).toBe(naiveCrc32c(view))
      }
    }
  })

  it('agrees when buffers alternate and a range ends at a buffer whose length is not a multiple of 4', () => {
    const a = Uint8Array.from({ length: 403 }, (_, i) => (i * 53 + 1) & 0xff)
    const b = Uint8Array.from({ length: 250 }, (_, i) => (i * 29 + 5) & 0xff)
    for (let round = 0; round < 3; round++) {
      expect(crc32c(a, 3, 403)).toBe(naiveCrc32c(a.subarray(3)))
      expect(crc32c(b.subarray(1))).toBe(naiveCrc32c(b.subarray(1)))
      expect(crc32c(a, 0, 401)).toBe(naiveCrc32c(a.subarray(0, 401)))
    }
  })

  it('combines the checksums of two parts into the checksum of both, for any split and length', () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 131 + 7) & 0xff)
    for (const [split, end] of [
      [0, 0],
      [0, 10],
      [10, 10],
      [29, 29 + 1],
      [29, 29 + 64],
      [29, 29 + 1000],
      [3, 70_000],
      [69_999, 70_000],
      [33, 33 + 65_536],
    ] as const) {
      const combined = crc32cCombine(crc32c(bytes, 0, split), crc32c(bytes, split, end), end - split)
      expect(combined).toBe(crc32c(bytes, 0, end))
    }
    expect(crc32cCombine(crc32c(bytes, 0, 5), crc32c(bytes, 5, 9), 4)).toBe(naiveCrc32c(bytes.subarray(0, 9)))
  })
})

/**
 * A running 64-bit hash (two independent 32-bit FNV-1a lanes) of everything that happens in a
 * simulation. Same seed, same code: same hash; any divergence changes it.
 */
export class TraceHash {
  #a = 0x811c9dc5
  #b = 0x01000193 ^ 0x5bd1e995

  /** Mix a string in (event descriptions). */
  text(value: string): void {
    let a = this.#a
    let b = this.#b
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i)
      a = Math.imul(a ^ code, 0x01000193)
      b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 15)
    }
    this.#a = a >>> 0
    this.#b = b >>> 0
  }

  /** Mix bytes in (frame payloads). */
  bytes(value: Uint8Array): void {
    let a = this.#a
    let b = this.#b
    for (let i = 0; i < value.length; i++) {
      const byte = value[i]!
      a = Math.imul(a ^ byte, 0x01000193)
      b = Math.imul(b ^ byte, 0x01000193) ^ (b >>> 15)
    }
    this.#a = a >>> 0
    this.#b = b >>> 0
  }

  /** 16 hex digits. */
  hex(): string {
    return this.#a.toString(16).padStart(8, '0') + this.#b.toString(16).padStart(8, '0')
  }
}

/** A short content digest of bytes (FNV-1a, 32 bits, hex): enough to tell entries apart in checks. */
export function digestBytes(value: Uint8Array): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value[i]!, 0x01000193)
  return (hash >>> 0).toString(16).padStart(8, '0') + ':' + value.length.toString(36)
}

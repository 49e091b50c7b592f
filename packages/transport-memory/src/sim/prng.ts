import type { Random } from '@laminar-ts/core'

/**
 * xoshiro128** (Blackman and Vigna), seeded through splitmix32. Small, fast and good enough
 * for fault schedules; not for cryptography. One seed gives one stream of numbers forever.
 */
export class Prng implements Random {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError('seed must be a finite number')
    let state = Math.trunc(seed) >>> 0
    const splitmix32 = (): number => {
      state = (state + 0x9e3779b9) >>> 0
      let z = state
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.#a = splitmix32()
    this.#b = splitmix32()
    this.#c = splitmix32()
    this.#d = splitmix32()
    // The all-zero state is a fixed point; splitmix32 never yields it for all four, but be sure.
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.#b << 9) >>> 0
    this.#c ^= this.#a
    this.#d ^= this.#b
    this.#b ^= this.#c
    this.#a ^= this.#d
    this.#c ^= t
    this.#d = rotl(this.#d, 11)
    return result
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** An integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound)
  }

  /** An integer in [min, max] inclusive. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[this.int(items.length)]!
  }

  /** A new shuffled copy of `items` (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items]
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const swap = copy[i]!
      copy[i] = copy[j]!
      copy[j] = swap
    }
    return copy
  }

  /**
   * An independent generator derived from this one's stream, so adding draws in one component
   * (say, a node's election jitter) does not shift every other component's numbers.
   */
  fork(): Prng {
    return new Prng(this.nextUint32())
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

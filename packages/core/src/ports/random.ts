/** Randomness as core sees it; the simulator injects a seeded generator. */
export interface Random {
  /** A float in [0, 1). */
  next(): number
}

/** The host's randomness. */
export const systemRandom: Random = { next: () => Math.random() }

/** An integer in [0, bound). */
export function randomInt(random: Random, bound: number): number {
  return Math.floor(random.next() * bound)
}

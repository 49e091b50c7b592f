import type { ConnectFate, FrameFate, LinkPolicy } from '../network/link-policy'
import type { Prng } from './prng'

/** Per-frame network faults between two different hosts. Rates are probabilities in [0, 1]. */
export interface LinkFaultSettings {
  delayMsMin: number
  delayMsMax: number
  dropRate: number
  duplicateRate: number
  /** Chance a frame skips the FIFO order of its connection. */
  reorderRate: number
  /** A refused connect (cut link) fails after this long, like a connect timeout. */
  connectTimeoutMs: number
}

/** A calm network: small delays, nothing lost. */
export const CALM_LINKS: Readonly<LinkFaultSettings> = Object.freeze({
  delayMsMin: 1,
  delayMsMax: 3,
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  connectTimeoutMs: 50,
})

const DROPPED: FrameFate = { drop: true }

/**
 * The simulator's {@link LinkPolicy}: random per-frame faults drawn from one seeded generator,
 * plus directed cuts (partitions, one-way links, clogs). A cut link drops every frame and
 * refuses connects; faults never apply to a host talking to itself.
 */
export class SimulatedLinks implements LinkPolicy {
  settings: LinkFaultSettings
  readonly #random: Prng
  /** Directed cuts, keyed `${from}\u0000${to}`. */
  readonly #cuts = new Set<string>()

  constructor(random: Prng, settings: LinkFaultSettings = CALM_LINKS) {
    this.#random = random
    this.settings = { ...settings }
  }

  frameFate(fromHost: string, toHost: string): FrameFate {
    if (fromHost === toHost) return { drop: false, delayMs: 0, reorder: false }
    if (this.#cuts.has(linkKey(fromHost, toHost))) return DROPPED
    const s = this.settings
    const random = this.#random
    if (random.chance(s.dropRate)) return DROPPED
    const delayMs = random.between(s.delayMsMin, s.delayMsMax)
    const reorder = random.chance(s.reorderRate)
    if (random.chance(s.duplicateRate)) {
      return { drop: false, delayMs, reorder, duplicateDelayMs: random.between(0, s.delayMsMax) }
    }
    return { drop: false, delayMs, reorder }
  }

  connectFate(fromHost: string, toHost: string): ConnectFate {
    if (fromHost !== toHost && this.#cuts.has(linkKey(fromHost, toHost))) {
      return { refuse: true, delayMs: this.settings.connectTimeoutMs }
    }
    return {
      refuse: false,
      delayMs: this.#random.between(this.settings.delayMsMin, this.settings.delayMsMax),
    }
  }

  /** Cut the directed link `from -> to`. */
  cut(fromHost: string, toHost: string): void {
    if (fromHost !== toHost) this.#cuts.add(linkKey(fromHost, toHost))
  }

  /** Restore the directed link `from -> to`. */
  restore(fromHost: string, toHost: string): void {
    this.#cuts.delete(linkKey(fromHost, toHost))
  }

  isCut(fromHost: string, toHost: string): boolean {
    return this.#cuts.has(linkKey(fromHost, toHost))
  }

  /** Cut both directions between every pair of hosts in different groups. */
  partition(groups: ReadonlyArray<readonly string[]>): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue
        for (const a of groups[i]!) for (const b of groups[j]!) this.cut(a, b)
      }
    }
  }

  /** Remove every cut. */
  heal(): void {
    this.#cuts.clear()
  }

  /** Directed cuts in force, as [from, to] pairs, sorted (for traces and reports). */
  cuts(): Array<[string, string]> {
    return [...this.#cuts].sort().map((key) => key.split('\u0000') as [string, string])
  }
}

function linkKey(fromHost: string, toHost: string): string {
  return `${fromHost}\u0000${toHost}`
}

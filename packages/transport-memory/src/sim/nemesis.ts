import type { FaultKind, FaultSettings } from './fault-plan'
import type { RaftEvent } from './history'
import type { Prng } from './prng'
import type { Simulation } from './simulation'
import type { VirtualTimer } from './timer-queue'

/** The disruptive fault families the nemesis schedules (link-level ones are always on). */
const ACTIONS: readonly FaultKind[] = ['partition', 'clog', 'crash', 'pause', 'skew']

/**
 * Injects process and partition faults at random times during the safety phase, each undone
 * after a random duration. Everything it does goes through the Simulation's public API.
 */
export class Nemesis {
  readonly #sim: Simulation
  readonly #settings: FaultSettings
  readonly #random: Prng
  readonly #actions: FaultKind[]
  readonly #timers = new Set<VirtualTimer>()
  #running = false

  constructor(sim: Simulation, settings: FaultSettings, random: Prng) {
    this.#sim = sim
    this.#settings = settings
    this.#random = random
    this.#actions = settings.enabled.filter((kind) => ACTIONS.includes(kind))
  }

  start(): void {
    if (this.#running || this.#actions.length === 0) return
    this.#running = true
    this.#scheduleNext()
    if (this.#settings.leaderChurnRate > 0) this.#sim.history.raftListeners.push(this.#onRaftEvent)
  }

  /**
   * Leader churn: a freshly elected leader is sometimes crashed or cut off within milliseconds,
   * before its first appends land, which leaves logs diverging across terms (Figure 8's setting).
   */
  readonly #onRaftEvent = (event: RaftEvent): void => {
    if (!this.#running || event.kind !== 'leader' || !this.#random.chance(this.#settings.leaderChurnRate))
      return
    const id = event.node
    const canCrash = this.#actions.includes('crash')
    this.#later(this.#random.between(0, 3), () => {
      if (this.#sim.stateOf(id) !== 'up') return
      if (canCrash && this.#random.chance(0.5)) {
        this.#sim.crash(id)
        this.#later(this.#duration(), () => this.#sim.restart(id))
      } else {
        this.#sim.isolate(id)
        this.#later(this.#duration(), () => this.#sim.heal())
      }
    })
  }

  /** Stop injecting; undo actions still pending are dropped (the caller heals everything). */
  stop(): void {
    this.#running = false
    const listeners = this.#sim.history.raftListeners
    const index = listeners.indexOf(this.#onRaftEvent)
    if (index >= 0) listeners.splice(index, 1)
    for (const timer of this.#timers) this.#sim.time.queue.cancel(timer)
    this.#timers.clear()
  }

  #later(delayMs: number, action: () => void): void {
    const timer = this.#sim.time.schedule(delayMs, () => {
      this.#timers.delete(timer)
      if (this.#running) action()
    })
    this.#timers.add(timer)
  }

  #duration(): number {
    return this.#random.between(this.#settings.faultDurationMsMin, this.#settings.faultDurationMsMax)
  }

  #scheduleNext(): void {
    const delayMs = this.#random.between(
      this.#settings.nemesisIntervalMsMin,
      this.#settings.nemesisIntervalMsMax,
    )
    this.#later(delayMs, () => {
      this.#act(this.#random.pick(this.#actions))
      this.#scheduleNext()
    })
  }

  /** Half the time the victim is a leader (Jepsen's "kill the primary"), else anyone up. */
  #victim(): string | undefined {
    const sim = this.#sim
    const up = sim.nodeIds.filter((id) => sim.stateOf(id) === 'up')
    const leaders = sim.leaders().filter((id) => up.includes(id))
    if (leaders.length > 0 && this.#random.chance(0.5)) return this.#random.pick(leaders)
    return up.length === 0 ? undefined : this.#random.pick(up)
  }

  #act(kind: FaultKind): void {
    const sim = this.#sim
    const random = this.#random
    const ids = sim.nodeIds
    switch (kind) {
      case 'partition': {
        const shuffled = random.shuffle(ids)
        const flavour = random.int(4)
        if (flavour === 0) {
          sim.isolate(this.#victim() ?? shuffled[0]!)
        } else if (flavour === 1 || ids.length < 3) {
          const cut = 1 + random.int(Math.max(1, ids.length - 1))
          sim.partition(shuffled.slice(0, cut), shuffled.slice(cut))
        } else if (flavour === 2) {
          const via = shuffled[0]!
          const rest = shuffled.slice(1)
          const half = Math.ceil(rest.length / 2)
          sim.bridge(rest.slice(0, half), rest.slice(half), via)
        } else {
          sim.oneWay(shuffled[0]!, shuffled[1]!)
        }
        this.#later(this.#duration(), () => sim.heal())
        return
      }
      case 'clog': {
        // Swizzle-clogging: cut a random set of links one at a time, restore them in random order.
        const links: Array<[string, string]> = []
        for (const from of ids)
          for (const to of ids) if (from !== to && random.chance(0.4)) links.push([from, to])
        let atMs = 0
        for (const [from, to] of links) {
          atMs += random.between(5, 100)
          this.#later(atMs, () => sim.clog(from, to))
        }
        atMs += this.#duration()
        for (const [from, to] of random.shuffle(links)) {
          atMs += random.between(5, 100)
          this.#later(atMs, () => sim.unclog(from, to))
        }
        return
      }
      case 'crash': {
        const id = this.#victim()
        if (id === undefined) return
        sim.crash(id)
        this.#later(this.#duration(), () => sim.restart(id))
        return
      }
      case 'pause': {
        const id = this.#victim()
        if (id === undefined) return
        sim.pause(id)
        this.#later(this.#duration(), () => sim.resume(id))
        return
      }
      case 'skew':
        sim.skewClock(random.pick(ids), random.between(1, 500))
        return
      default:
        return
    }
  }
}

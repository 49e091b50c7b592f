import { isLaminarError } from '@laminar-ts/core'
import type { Prng } from '../prng'
import type { Simulation } from '../simulation'
import type { VirtualTimer } from '../timer-queue'
import type { RaftProcess } from './raft-process'

export interface RaftClientStats {
  proposed: number
  acked: number
  failed: number
}

/**
 * A simulated client of a Raft cluster: every `intervalMs` it proposes a fresh command
 * (`<name>-<n>`) to the node it believes leads, following NOT_LEADER hints, with at most
 * `inFlightMax` proposals outstanding. Acknowledgements are recorded by the processes.
 */
export class RaftClient {
  readonly stats: RaftClientStats = { proposed: 0, acked: 0, failed: 0 }
  readonly #sim: Simulation<RaftProcess>
  readonly #random: Prng
  readonly #name: string
  readonly #intervalMs: number
  readonly #inFlightMax: number
  #inFlight = 0
  #target: string | undefined
  #timer: VirtualTimer | undefined
  #seq = 0

  constructor(
    sim: Simulation<RaftProcess>,
    random: Prng,
    options: { name?: string; intervalMs?: number; inFlightMax?: number } = {},
  ) {
    this.#sim = sim
    this.#random = random
    this.#name = options.name ?? 'c'
    this.#intervalMs = options.intervalMs ?? 10
    this.#inFlightMax = options.inFlightMax ?? 16
  }

  start(): void {
    if (this.#timer !== undefined) return
    const loop = (): void => {
      this.proposeOnce()
      this.#timer = this.#sim.time.schedule(this.#intervalMs, loop)
    }
    this.#timer = this.#sim.time.schedule(this.#intervalMs, loop)
  }

  stop(): void {
    if (this.#timer !== undefined) this.#sim.time.queue.cancel(this.#timer)
    this.#timer = undefined
  }

  /** Send one proposal now; resolves true when it was acknowledged. */
  proposeOnce(): Promise<boolean> {
    if (this.#inFlight >= this.#inFlightMax) return Promise.resolve(false)
    const live = this.#sim.processes().filter((p) => p.process.alive)
    if (live.length === 0) return Promise.resolve(false)
    const target =
      (this.#target !== undefined ? live.find((p) => p.id === this.#target) : undefined) ??
      this.#random.pick(live)
    this.#inFlight++
    this.stats.proposed++
    return target.process.proposeText(`${this.#name}-${++this.#seq}`).then(
      () => {
        this.#inFlight--
        this.stats.acked++
        this.#target = target.id
        return true
      },
      (error: unknown) => {
        this.#inFlight--
        this.stats.failed++
        const hint = isLaminarError(error, 'NOT_LEADER') ? error.leaderHint : undefined
        this.#target = hint ?? this.#random.pick(this.#sim.nodeIds)
        return false
      },
    )
  }
}

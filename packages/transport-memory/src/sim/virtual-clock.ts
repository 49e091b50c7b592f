import type { Clock, TimerHandle } from '@laminar-ts/core'
import { TimerQueue, type VirtualTimer } from './timer-queue'

/**
 * The simulation's one timeline. Time moves only when the simulation pops the next timer;
 * nothing here reads the wall clock.
 */
export class VirtualTime {
  readonly queue = new TimerQueue()
  #nowMs = 0

  get nowMs(): number {
    return this.#nowMs
  }

  /** Schedule on the global timeline (network, storage and fault events). */
  schedule(delayMs: number, callback: () => void): VirtualTimer {
    if (!(delayMs >= 0)) throw new RangeError(`delayMs must be >= 0, got ${delayMs}`)
    return this.queue.push(this.#nowMs + delayMs, callback)
  }

  /** @internal Move time forward to `atMs` (never backwards). */
  advanceTo(atMs: number): void {
    if (atMs > this.#nowMs) this.#nowMs = atMs
  }
}

/**
 * The Clock one simulated process sees: the global virtual time plus its own skew, and timers
 * that die with the process (crash) and freeze with it (pause).
 */
export class ProcessClock implements Clock {
  readonly #time: VirtualTime
  readonly #timers = new Set<VirtualTimer>()
  /** Timers that came due while paused, run in due order on resume. */
  readonly #held: Array<{ timer: VirtualTimer; callback: () => void }> = []
  #skewMs: number
  #paused = false
  #dead = false

  constructor(time: VirtualTime, skewMs = 0) {
    this.#time = time
    this.#skewMs = skewMs
  }

  now(): number {
    return this.#time.nowMs + this.#skewMs
  }

  get skewMs(): number {
    return this.#skewMs
  }

  /** Clock skew fault: move this process's clock; `now()` stays non-decreasing. */
  setSkewMs(skewMs: number): void {
    // A wall clock may jump backwards; the Clock port promises monotonic time, so only
    // forward jumps are applied immediately and backward ones are absorbed.
    this.#skewMs = Math.max(this.#skewMs, skewMs)
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    if (this.#dead) return undefined
    const timer = this.#time.schedule(Math.max(0, Number.isFinite(delayMs) ? delayMs : 0), () => {
      this.#timers.delete(timer)
      if (this.#paused) this.#held.push({ timer, callback })
      else callback()
    })
    this.#timers.add(timer)
    return timer
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as VirtualTimer | undefined
    if (timer === undefined) return
    const heldIndex = this.#held.findIndex((held) => held.timer === timer)
    if (heldIndex >= 0) this.#held.splice(heldIndex, 1)
    if (!this.#timers.has(timer)) return
    this.#timers.delete(timer)
    this.#time.queue.cancel(timer)
  }

  /** @internal */
  pause(): void {
    this.#paused = true
  }

  /** @internal Run the timers that came due while paused, then carry on. */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    const held = this.#held.splice(0)
    this.#time.schedule(0, () => {
      for (const { callback } of held) if (!this.#dead) callback()
    })
  }

  /** @internal The process died: its timers never fire. */
  kill(): void {
    this.#dead = true
    for (const timer of this.#timers) this.#time.queue.cancel(timer)
    this.#timers.clear()
    this.#held.length = 0
  }

  /** Live timers this process has set (for tests). */
  get pendingTimers(): number {
    return this.#timers.size
  }
}

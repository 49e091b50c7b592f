import type { Clock } from '@laminar-ts/core'

/**
 * Where the in-memory network schedules deliveries. Inside a Simulation this is the virtual
 * timer queue; in a real process it is the host's event loop.
 */
export interface DeliveryScheduler {
  /** Current time in milliseconds on the scheduler's own timeline. */
  now(): number
  /** Run `callback` after `delayMs` (0: as soon as the current task has finished). */
  schedule(delayMs: number, callback: () => void): void
}

/** The most callbacks one event-loop turn runs before yielding, so I/O is never starved. */
const IMMEDIATE_BATCH_MAX = 4096

/**
 * A scheduler on real time. Zero-delay callbacks are batched into one `setImmediate`
 * (a `setTimeout(0)` would cost a millisecond each and ruin throughput); the others use the
 * given clock's timers.
 */
export class RealTimeScheduler implements DeliveryScheduler {
  readonly #clock: Clock
  readonly #immediate: Array<() => void> = []
  #immediateHead = 0
  #immediateArmed = false

  constructor(clock: Clock) {
    this.#clock = clock
  }

  now(): number {
    return this.#clock.now()
  }

  schedule(delayMs: number, callback: () => void): void {
    if (delayMs > 0) {
      this.#clock.setTimer(callback, delayMs)
      return
    }
    this.#immediate.push(callback)
    this.#arm()
  }

  #arm(): void {
    if (this.#immediateArmed) return
    this.#immediateArmed = true
    setImmediate(() => this.#runImmediate())
  }

  #runImmediate(): void {
    this.#immediateArmed = false
    // Callbacks scheduled while running go to the next turn, bounding one turn's work.
    const end = Math.min(this.#immediate.length, this.#immediateHead + IMMEDIATE_BATCH_MAX)
    try {
      while (this.#immediateHead < end) {
        const callback = this.#immediate[this.#immediateHead]!
        this.#immediate[this.#immediateHead] = noop
        this.#immediateHead++
        callback()
      }
    } finally {
      if (this.#immediateHead === this.#immediate.length) {
        this.#immediate.length = 0
        this.#immediateHead = 0
      } else {
        this.#arm()
      }
    }
  }
}

/** A scheduler on a {@link Clock}: every callback goes through `clock.setTimer`. */
export class ClockScheduler implements DeliveryScheduler {
  readonly #clock: Clock
  constructor(clock: Clock) {
    this.#clock = clock
  }
  now(): number {
    return this.#clock.now()
  }
  schedule(delayMs: number, callback: () => void): void {
    this.#clock.setTimer(callback, delayMs)
  }
}

function noop(): void {}

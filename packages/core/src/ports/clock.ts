/** An opaque handle returned by {@link Clock.setTimer}. */
export type TimerHandle = unknown

/**
 * Time as core sees it. Core never reads the wall clock or schedules timers by itself:
 * the simulator injects a virtual clock, so a seed replays the same history.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic non-decreasing. */
  now(): number
  setTimer(callback: () => void, delayMs: number): TimerHandle
  clearTimer(handle: TimerHandle): void
}

/** The real clock: wall time and the host's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs)
    // A node's tick timer must not keep an otherwise finished process alive.
    ;(handle as { unref?: () => void }).unref?.()
    return handle
  },
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

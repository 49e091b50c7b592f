/**
 * In-flight entries in ack-deadline order, for checking deadlines in bulk (the front only):
 * entries are appended as they are delivered, and deadlines are `nowMs + ackWaitMs` with a
 * clock that does not go back, so appending keeps the order. An entry that ended (acked,
 * released) or was re-appended with a new deadline stays behind, dead, and is skipped: removing
 * costs nothing, and dead entries are dropped in bulk once they outnumber the live ones.
 *
 * Invariant (unless a deadline arrived out of order, noted and repaired by one sort before the
 * next read): live entries are in non-decreasing deadline order from `#head`.
 */
export class DeadlineQueue<Entry extends { deadlineMs: number }> {
  #items: Entry[] = []
  #head = 0
  #lastDeadlineMs = Number.NEGATIVE_INFINITY
  #unsorted = false
  readonly #isLive: (entry: Entry) => boolean

  /** `isLive` tells whether an appended entry still counts (the caller's table still holds it). */
  constructor(isLive: (entry: Entry) => boolean) {
    this.#isLive = isLive
  }

  /** Appends `entry`; `liveCount` (entries live now) bounds the dead ones kept. */
  push(entry: Entry, liveCount: number): void {
    if (entry.deadlineMs < this.#lastDeadlineMs) this.#unsorted = true
    else this.#lastDeadlineMs = entry.deadlineMs
    this.#items.push(entry)
    if (this.#items.length - this.#head > 2 * liveCount + 1024) this.#compact()
  }

  /** The live entry with the earliest deadline, left in place; undefined when none. */
  peek(): Entry | undefined {
    if (this.#unsorted) this.#sort()
    const items = this.#items
    while (this.#head < items.length && !this.#isLive(items[this.#head]!)) this.#head++
    if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head)
      this.#head = 0
    }
    return this.#items[this.#head]
  }

  /** Removes the front entry (the one {@link peek} returned). */
  shift(): void {
    this.#head++
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head).filter(this.#isLive)
    this.#head = 0
  }

  /** Restores deadline order after a clock step back or a shorter ackWaitMs (rare). */
  #sort(): void {
    this.#compact()
    this.#items.sort((a, b) => a.deadlineMs - b.deadlineMs)
    this.#lastDeadlineMs = this.#items[this.#items.length - 1]?.deadlineMs ?? Number.NEGATIVE_INFINITY
    this.#unsorted = false
  }
}

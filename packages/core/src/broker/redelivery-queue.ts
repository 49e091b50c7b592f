import { lowerBound } from '../util/sorted-search'

/**
 * Offsets waiting to be delivered (again): redeliveries after a nack, a timeout or a member's
 * loss, and with per-key ordering, fresh offsets passed over because their key was busy.
 *
 * `ready` is ascending so the oldest message goes first; `delayed` (a nack with a delay) is
 * ascending by due time. Invariant: an offset is in at most one of them, and `size` counts both.
 * Bounded by the caller: only offsets inside the ack window ever enter.
 */
export class RedeliveryQueue {
  readonly #ready: number[] = []
  #delayed: { offset: number; dueMs: number }[] = []
  readonly #members = new Set<number>()

  get size(): number {
    return this.#members.size
  }

  has(offset: number): boolean {
    return this.#members.has(offset)
  }

  /** Queue `offset`, deliverable from `dueMs` on (now when undefined). */
  add(offset: number, dueMs?: number): void {
    if (this.#members.has(offset)) return
    this.#members.add(offset)
    if (dueMs === undefined) {
      this.#ready.splice(lowerBound(this.#ready, offset), 0, offset)
    } else {
      const at = this.#delayed.findIndex((entry) => entry.dueMs > dueMs)
      this.#delayed.splice(at < 0 ? this.#delayed.length : at, 0, { offset, dueMs })
    }
  }

  remove(offset: number): boolean {
    if (!this.#members.delete(offset)) return false
    const at = lowerBound(this.#ready, offset)
    if (this.#ready[at] === offset) this.#ready.splice(at, 1)
    else this.#delayed = this.#delayed.filter((entry) => entry.offset !== offset)
    return true
  }

  /** Move every delayed offset due at `nowMs` into the ready list. */
  promote(nowMs: number): void {
    let due = 0
    while (due < this.#delayed.length && this.#delayed[due]!.dueMs <= nowMs) due++
    if (due === 0) return
    for (const { offset } of this.#delayed.splice(0, due)) {
      this.#ready.splice(lowerBound(this.#ready, offset), 0, offset)
    }
  }

  /** The first ready offset `accept` takes, removed from the queue; undefined when none. */
  takeFirst(accept: (offset: number) => boolean): number | undefined {
    for (let i = 0; i < this.#ready.length; i++) {
      const offset = this.#ready[i]!
      if (!accept(offset)) continue
      this.#ready.splice(i, 1)
      this.#members.delete(offset)
      return offset
    }
    return undefined
  }

  /** When the next delayed offset becomes due, or undefined. */
  nextDueMs(): number | undefined {
    return this.#delayed[0]?.dueMs
  }

  /** Drop every offset below `offset` (retention removed them). */
  dropBelow(offset: number): void {
    for (const queued of [...this.#members]) if (queued < offset) this.remove(queued)
  }
}

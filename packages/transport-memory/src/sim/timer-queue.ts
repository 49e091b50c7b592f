/** A scheduled callback on virtual time. */
export interface VirtualTimer {
  readonly atMs: number
  /** Tie-breaker: timers due at one instant run in the order they were set. */
  readonly seq: number
  readonly callback: () => void
  cancelled: boolean
}

/**
 * A min-heap of timers ordered by (atMs, seq). The simulation's only source of "later":
 * network deliveries, storage completions, node ticks and faults all go through it.
 * Invariant: `pop` returns timers in non-decreasing `atMs`, FIFO among equal `atMs`.
 */
export class TimerQueue {
  readonly #heap: VirtualTimer[] = []
  #seq = 0
  #live = 0

  /** Live (not cancelled) timers waiting. */
  get size(): number {
    return this.#live
  }

  push(atMs: number, callback: () => void): VirtualTimer {
    const timer: VirtualTimer = { atMs, seq: this.#seq++, callback, cancelled: false }
    this.#heap.push(timer)
    this.#siftUp(this.#heap.length - 1)
    this.#live++
    return timer
  }

  cancel(timer: VirtualTimer): void {
    if (timer.cancelled) return
    timer.cancelled = true
    this.#live--
  }

  /** The due time of the earliest live timer, or undefined when none is left. */
  peekAtMs(): number | undefined {
    this.#dropCancelledHead()
    return this.#heap[0]?.atMs
  }

  /** Remove and return the earliest live timer. */
  pop(): VirtualTimer | undefined {
    this.#dropCancelledHead()
    const timer = this.#removeHead()
    if (timer !== undefined) {
      timer.cancelled = true
      this.#live--
    }
    return timer
  }

  #dropCancelledHead(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#removeHead()
  }

  #removeHead(): VirtualTimer | undefined {
    const heap = this.#heap
    const head = heap[0]
    if (head === undefined) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      this.#siftDown(0)
    }
    return head
  }

  #siftUp(index: number): void {
    const heap = this.#heap
    const timer = heap[index]!
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (!before(timer, heap[parent]!)) break
      heap[index] = heap[parent]!
      index = parent
    }
    heap[index] = timer
  }

  #siftDown(index: number): void {
    const heap = this.#heap
    const timer = heap[index]!
    const length = heap.length
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && before(heap[right]!, heap[left]!) ? right : left
      if (!before(heap[child]!, timer)) break
      heap[index] = heap[child]!
      index = child
    }
    heap[index] = timer
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}

/**
 * A bounded ring buffer of the last indexes of in-flight append messages to one follower
 * (etcd-io/raft tracker/inflights.go). It bounds how many appends a leader pipelines.
 */
import { invariant } from './errors'

/** In-flight appends to one follower, as the last index of each; a ring buffer of fixed capacity. */
export class Inflights {
  /** Capacity: the maximum number of appends in flight. */
  readonly capacity: number
  /** Index of the oldest in-flight entry in `buffer`. */
  private start = 0
  /** Invariant: 0 <= count <= capacity. */
  private count = 0
  /** Grown lazily up to `capacity`, so idle followers cost little memory. */
  private buffer: number[] = []

  constructor(capacity: number) {
    invariant(capacity > 0, 'inflights capacity must be positive')
    this.capacity = capacity
  }

  /** Number of appends in flight. */
  get size(): number {
    return this.count
  }

  /** True when no further append may be sent. */
  full(): boolean {
    return this.count === this.capacity
  }

  /** Records an append whose last entry is `index`. Indexes must be added in increasing order. */
  add(index: number): void {
    invariant(!this.full(), 'cannot add into a full inflights')
    let next = this.start + this.count
    if (next >= this.capacity) next -= this.capacity
    if (next >= this.buffer.length) this.buffer.push(index)
    else this.buffer[next] = index
    this.count++
  }

  /** Frees every in-flight append whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    if (this.count === 0 || index < (this.buffer[this.start] as number)) return
    let freed = 0
    let position = this.start
    while (freed < this.count) {
      if (index < (this.buffer[position] as number)) break
      freed++
      position++
      if (position >= this.capacity) position -= this.capacity
    }
    this.count -= freed
    this.start = position
    if (this.count === 0) this.start = 0
  }

  /** Frees the oldest in-flight append (a heartbeat response proved the follower alive). */
  freeFirstOne(): void {
    if (this.count === 0) return
    this.freeLE(this.buffer[this.start] as number)
  }

  reset(): void {
    this.count = 0
    this.start = 0
  }
}

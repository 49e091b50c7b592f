import { decodeStartPosition } from '../codec/start-position'
import { arrayOf, bool, int, str } from '../codec/value-checks'
import { AckWindow } from './ack-window'
import { ACK_WINDOW_MAX, type GroupConfig } from './commands'

/**
 * A consumer group's replicated progress on one partition: an ack floor plus the acked set
 * above it, and recorded delivery counts.
 *
 * Invariants: every offset < ackFloor is handled; every member of `acked` and every key of
 * `deliveryCounts` lies in [ackFloor, ackFloor + ACK_WINDOW_MAX); `acked` never contains ackFloor
 * (the floor would have moved past it).
 */
export class ConsumerGroup {
  readonly name: string
  config: GroupConfig
  /** The ack floor and the acked set above it: flags over the ack window, no hashing per ack. */
  readonly #acked: AckWindow<never>
  readonly #deliveryCounts = new Map<number, number>()

  constructor(name: string, config: GroupConfig, ackFloor: number) {
    this.name = name
    this.config = config
    this.#acked = new AckWindow(ackFloor, ACK_WINDOW_MAX)
  }

  get ackFloor(): number {
    return this.#acked.floor
  }

  get ackedCount(): number {
    return this.#acked.handledCount
  }

  /** Acked offsets above the floor, ascending. */
  acked(): number[] {
    return this.#acked.handledOffsets()
  }

  /** Recorded delivery counts, ascending by offset. */
  deliveryCounts(): [number, number][] {
    return [...this.#deliveryCounts].sort((a, b) => a[0] - b[0])
  }

  /**
   * Mark offsets handled (acked or dead-lettered). Offsets below the floor, at or past
   * `endOffset` (not written yet) or beyond the ack window are ignored: the window bounds the set.
   * Ascending order, so one batch may span more than a window as long as the floor keeps up.
   */
  markHandled(offsets: readonly number[], endOffset: number): void {
    // Batches from several members are runs of ascending offsets: a numeric typed-array sort
    // (no comparator calls) when they are not in order already.
    const sorted = isAscending(offsets) ? offsets : Float64Array.from(offsets).sort()
    for (let i = 0; i < sorted.length; i++) {
      const offset = sorted[i]!
      const floor = this.#acked.floor
      if (offset < floor || offset >= Math.min(endOffset, floor + ACK_WINDOW_MAX)) continue
      this.#acked.markHandled(offset)
      if (this.#deliveryCounts.size > 0) this.#deliveryCounts.delete(offset)
    }
  }

  /**
   * Count one more delivery of each offset. The first delivery is never recorded, so a recorded
   * offset starts at 2.
   */
  markRedelivered(offsets: readonly number[], endOffset: number): void {
    const floor = this.#acked.floor
    const windowEnd = Math.min(endOffset, floor + ACK_WINDOW_MAX)
    for (const offset of offsets) {
      if (offset < floor || offset >= windowEnd || this.#acked.isHandled(offset)) continue
      this.#deliveryCounts.set(offset, (this.#deliveryCounts.get(offset) ?? 1) + 1)
    }
  }

  /** Retention dropped everything below `logStartOffset`: it counts as handled. */
  raiseFloor(logStartOffset: number): void {
    if (logStartOffset <= this.#acked.floor) return
    this.#acked.raiseFloor(logStartOffset)
    for (const offset of this.#deliveryCounts.keys())
      if (offset < logStartOffset) this.#deliveryCounts.delete(offset)
  }

  /** Canonical snapshot form: config fields in a fixed order, sets sorted. */
  toSnapshot(): unknown[] {
    const c = this.config
    return [
      this.name,
      c.ackWaitMs,
      c.maxDeliveries,
      c.deadLetterTopic,
      c.perKeyOrdering,
      c.startPosition,
      this.#acked.floor,
      this.acked(),
      this.deliveryCounts(),
    ]
  }

  static fromSnapshot(value: unknown): ConsumerGroup {
    const fields = arrayOf(value, 'group')
    const name = str(fields[0], 'group name')
    const deadLetterTopic = fields[3] === null ? null : str(fields[3], 'deadLetterTopic')
    const config: GroupConfig = {
      ackWaitMs: int(fields[1], 'ackWaitMs'),
      maxDeliveries: int(fields[2], 'maxDeliveries'),
      deadLetterTopic,
      perKeyOrdering: bool(fields[4], 'perKeyOrdering'),
      startPosition: decodeStartPosition(fields[5]),
    }
    const group = new ConsumerGroup(name, config, int(fields[6], 'ackFloor'))
    for (const value of arrayOf(fields[7], 'acked')) {
      const offset = int(value, 'acked offset')
      if (offset <= group.#acked.floor || !group.#acked.inWindow(offset)) {
        throw new TypeError('acked offset must lie above the ack floor, inside the ack window')
      }
      group.#acked.markHandled(offset)
    }
    for (const pair of arrayOf(fields[8], 'deliveryCounts')) {
      const [offset, count] = arrayOf(pair, 'delivery count')
      group.#deliveryCounts.set(int(offset, 'offset'), int(count, 'count'))
    }
    return group
  }
}

function isAscending(offsets: readonly number[]): boolean {
  for (let i = 1; i < offsets.length; i++) if (offsets[i]! < offsets[i - 1]!) return false
  return true
}

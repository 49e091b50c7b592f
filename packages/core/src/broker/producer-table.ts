import { arrayOf, int, str } from '../codec/value-checks'
import { PRODUCERS_MAX } from './commands'

/** How many recent batches per producer can be answered as duplicates (a pipelined producer's window). */
export const PRODUCER_RECENT_BATCHES_MAX = 8

/** One accepted batch of an idempotent producer. */
interface BatchRecord {
  sequence: number
  baseOffset: number
  count: number
}

/** The verdict on an incoming (producerId, sequence). */
export type SequenceCheck =
  | { kind: 'new' }
  | { kind: 'duplicate'; baseOffset: number; count: number }
  | { kind: 'outOfOrder'; expectedSequence: number }

/**
 * Idempotent producers on one partition: for each producer id, its last few accepted batches.
 *
 * Bounded: at most PRODUCERS_MAX producers (Map insertion order is recency: the producer that
 * appended least recently is forgotten first) and PRODUCER_RECENT_BATCHES_MAX batches each. A
 * forgotten or never-seen producer may start at any sequence.
 */
export class ProducerTable {
  readonly #producers = new Map<string, BatchRecord[]>()

  get size(): number {
    return this.#producers.size
  }

  check(producerId: string, sequence: number): SequenceCheck {
    const batches = this.#producers.get(producerId)
    const last = batches?.[batches.length - 1]
    if (batches === undefined || last === undefined) return { kind: 'new' }
    if (sequence === last.sequence + 1) return { kind: 'new' }
    const original = batches.find((batch) => batch.sequence === sequence)
    if (original !== undefined)
      return { kind: 'duplicate', baseOffset: original.baseOffset, count: original.count }
    return { kind: 'outOfOrder', expectedSequence: last.sequence + 1 }
  }

  /** Record an accepted batch; the producer becomes the most recent one. */
  record(producerId: string, sequence: number, baseOffset: number, count: number): void {
    const batches = this.#producers.get(producerId) ?? []
    this.#producers.delete(producerId)
    batches.push({ sequence, baseOffset, count })
    if (batches.length > PRODUCER_RECENT_BATCHES_MAX) batches.shift()
    this.#producers.set(producerId, batches)
    if (this.#producers.size > PRODUCERS_MAX) {
      const oldest = this.#producers.keys().next().value
      if (oldest !== undefined) this.#producers.delete(oldest)
    }
  }

  /** Snapshot form, in recency order (which eviction depends on, so it is part of the state). */
  toSnapshot(): unknown[] {
    return [...this.#producers].map(([id, batches]) => [
      id,
      batches.map((batch) => [batch.sequence, batch.baseOffset, batch.count]),
    ])
  }

  static fromSnapshot(value: unknown): ProducerTable {
    const table = new ProducerTable()
    for (const entry of arrayOf(value, 'producers')) {
      const [id, batches] = arrayOf(entry, 'producer')
      table.#producers.set(
        str(id, 'producerId'),
        arrayOf(batches, 'batches').map((batch) => {
          const [sequence, baseOffset, count] = arrayOf(batch, 'batch')
          return {
            sequence: int(sequence, 'sequence'),
            baseOffset: int(baseOffset, 'baseOffset'),
            count: int(count, 'count'),
          }
        }),
      )
    }
    return table
  }
}

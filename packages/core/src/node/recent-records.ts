import type { RecordBatch } from '../codec/record-batch'
import type { StoredRecord, WireRecord } from './protocol'

interface HeldBatch {
  baseOffset: number
  batch: RecordBatch
}

/** Decoded batches kept for reads in offset order (deliveries walk batches one after another). */
const DECODED_BATCHES_MAX = 2

/**
 * The most recently appended record batches of one partition, by offset, so consumers at the
 * head of the log are served without reading the log again. Batches are kept as the producer
 * encoded them (one byte array each, nothing per record that a long-lived window would make
 * the garbage collector trace) and decoded when read; the last few decoded batches are kept,
 * since deliveries read offsets in order. Bounded by bytes: the oldest batches fall out first.
 * Invariant: offsets held are dense, from `firstOffset` to `endOffset - 1`.
 */
export class RecentRecords {
  readonly #bytesMax: number
  readonly #batches: HeldBatch[] = []
  #head = 0
  #firstOffset = 0
  #endOffset = 0
  #bytes = 0
  /** Most recently decoded first; entries are batches still held. */
  #decoded: Array<{ held: HeldBatch; records: WireRecord[] }> = []

  constructor(bytesMax: number) {
    this.#bytesMax = bytesMax
  }

  get firstOffset(): number {
    return this.#firstOffset
  }

  get endOffset(): number {
    return this.#endOffset
  }

  /** Adds a batch at `baseOffset`; a gap (records missed) restarts the window there. */
  append(baseOffset: number, batch: RecordBatch): void {
    if (baseOffset !== this.#endOffset) this.clear(baseOffset)
    if (batch.count === 0) return
    this.#batches.push({ baseOffset, batch })
    this.#bytes += batch.bytes.length
    this.#endOffset = baseOffset + batch.count
    // Keep at least the newest batch, whatever its size: consumers at the head read it next.
    while (this.#bytes > this.#bytesMax && this.#head < this.#batches.length - 1) {
      const dropped = this.#batches[this.#head]!
      this.#bytes -= dropped.batch.bytes.length
      this.#head++
      this.#firstOffset = dropped.baseOffset + dropped.batch.count
      this.#decoded = this.#decoded.filter((d) => d.held !== dropped)
    }
    // Compact the array now and then so dropped batches are garbage collected.
    if (this.#head > 1024 && this.#head * 2 > this.#batches.length) {
      this.#batches.splice(0, this.#head)
      this.#head = 0
    }
  }

  get(offset: number): WireRecord | undefined {
    if (offset < this.#firstOffset || offset >= this.#endOffset) return undefined
    const held = this.#find(offset)
    return this.#records(held)[offset - held.baseOffset]
  }

  /** Records from `fromOffset` while they are held, bounded by count and bytes. */
  read(fromOffset: number, maxMessages: number, maxBytes: number): StoredRecord[] {
    const out: StoredRecord[] = []
    let bytes = 0
    let offset = fromOffset
    while (offset >= this.#firstOffset && offset < this.#endOffset && out.length < maxMessages) {
      const held = this.#find(offset)
      const records = this.#records(held)
      for (let i = offset - held.baseOffset; i < records.length && out.length < maxMessages; i++) {
        const record = records[i]!
        bytes += recordBytes(record)
        if (bytes > maxBytes && out.length > 0) return out
        out.push({ ...record, offset: held.baseOffset + i })
      }
      offset = held.baseOffset + records.length
    }
    return out
  }

  clear(nextOffset: number): void {
    this.#batches.length = 0
    this.#head = 0
    this.#bytes = 0
    this.#firstOffset = nextOffset
    this.#endOffset = nextOffset
    this.#decoded = []
  }

  /** The held batch containing `offset` (which must be in the window): a binary search. */
  #find(offset: number): HeldBatch {
    let lo = this.#head
    let hi = this.#batches.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.#batches[mid]!.baseOffset <= offset) lo = mid
      else hi = mid - 1
    }
    return this.#batches[lo]!
  }

  #records(held: HeldBatch): WireRecord[] {
    for (const decoded of this.#decoded) if (decoded.held === held) return decoded.records
    // The leader checked the batch whole before proposing it: decoding does not fail here.
    const records = held.batch.records()
    this.#decoded.unshift({ held, records })
    if (this.#decoded.length > DECODED_BATCHES_MAX) this.#decoded.pop()
    return records
  }
}

/** Approximate size of a record: what bounds and budgets count. */
export function recordBytes(record: WireRecord): number {
  let bytes = record.value.length + (record.key?.length ?? 0) + 16
  for (const name in record.headers) bytes += name.length + record.headers[name]!.length
  return bytes
}

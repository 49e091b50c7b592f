import type { StoredRecord, WireRecord } from './protocol'

/**
 * The most recently appended records of one partition, by offset, so consumers at the head of
 * the log are served without reading and decoding the log again. Bounded by bytes: the oldest
 * records fall out first. Invariant: offsets held are dense, from `firstOffset` to `endOffset - 1`.
 */
export class RecentRecords {
  readonly #bytesMax: number
  readonly #records: WireRecord[] = []
  #head = 0
  #firstOffset = 0
  #bytes = 0

  constructor(bytesMax: number) {
    this.#bytesMax = bytesMax
  }

  get firstOffset(): number {
    return this.#firstOffset
  }

  get endOffset(): number {
    return this.#firstOffset + this.#records.length - this.#head
  }

  /** Adds records at `baseOffset`; a gap (records missed) restarts the window there. */
  append(baseOffset: number, records: readonly WireRecord[]): void {
    if (baseOffset !== this.endOffset) this.clear(baseOffset)
    for (const record of records) {
      this.#records.push(record)
      this.#bytes += recordBytes(record)
    }
    while (this.#bytes > this.#bytesMax && this.#head < this.#records.length) {
      this.#bytes -= recordBytes(this.#records[this.#head]!)
      this.#head++
      this.#firstOffset++
    }
    // Compact the array now and then so dropped records are garbage collected.
    if (this.#head > 4096 && this.#head * 2 > this.#records.length) {
      this.#records.splice(0, this.#head)
      this.#head = 0
    }
  }

  get(offset: number): WireRecord | undefined {
    if (offset < this.#firstOffset || offset >= this.endOffset) return undefined
    return this.#records[this.#head + offset - this.#firstOffset]
  }

  /** Records from `fromOffset` while they are cached, bounded by count and bytes. */
  read(fromOffset: number, maxMessages: number, maxBytes: number): StoredRecord[] {
    const out: StoredRecord[] = []
    let bytes = 0
    for (let offset = fromOffset; offset < this.endOffset && out.length < maxMessages; offset++) {
      const record = this.get(offset)
      if (record === undefined) break
      bytes += recordBytes(record)
      if (bytes > maxBytes && out.length > 0) break
      out.push({ ...record, offset })
    }
    return out
  }

  clear(nextOffset: number): void {
    this.#records.length = 0
    this.#head = 0
    this.#bytes = 0
    this.#firstOffset = nextOffset
  }
}

/** Approximate size of a record: what bounds and budgets count. */
export function recordBytes(record: WireRecord): number {
  let bytes = record.value.length + (record.key?.length ?? 0) + 16
  for (const name in record.headers) bytes += name.length + record.headers[name]!.length
  return bytes
}

import { arrayOf, int, num } from '../codec/value-checks'
import { lowerBound, upperBound } from '../util/sorted-search'

/** Default spacing of sparse entries, in records. */
export const INDEX_INTERVAL_RECORDS_DEFAULT = 256
/** When the index grows past this many entries, every other entry is dropped and the interval doubles. */
export const INDEX_ENTRIES_MAX = 65_536

/** The append entry from which to scan the Raft log to reach an offset. */
export interface OffsetLocation {
  /** The first offset of the append entry at `index`; at or below the offset asked for. */
  offset: number
  /** The Raft index of that entry. */
  index: number
}

/**
 * A sparse map from record offsets to the Raft entries that hold them, with the largest record
 * timestamp seen in each stretch (for seek by time), and the Raft indexes of append entries that
 * were applied without getting offsets (duplicates, rejections) so that a reader scanning
 * forward from an entry counts offsets right.
 *
 * Invariants: entry offsets and indexes strictly increase; `timestampsMax[i]` is the largest
 * timestamp of records in [offsets[i], offsets[i+1]); skipped indexes ascend. Bounds: at most
 * INDEX_ENTRIES_MAX entries (thinned by halving); one skipped index per rejected append still in
 * the log (dropped with the log prefix).
 */
export class OffsetIndex {
  #intervalRecords: number
  #offsets: number[] = []
  #indexes: number[] = []
  #timestampsMax: number[] = []
  #skipped: number[] = []

  constructor(intervalRecords: number = INDEX_INTERVAL_RECORDS_DEFAULT) {
    this.#intervalRecords = intervalRecords
  }

  get entryCount(): number {
    return this.#offsets.length
  }

  /** Note an accepted append of `count` records at Raft `index`, first offset `baseOffset`. */
  onAppend(index: number, baseOffset: number, timestampsMax: number): void {
    const last = this.#offsets.length - 1
    const lastOffset = this.#offsets[last]
    if (lastOffset === undefined || baseOffset >= lastOffset + this.#intervalRecords) {
      this.#offsets.push(baseOffset)
      this.#indexes.push(index)
      this.#timestampsMax.push(timestampsMax)
      if (this.#offsets.length > INDEX_ENTRIES_MAX) this.#thin()
    } else {
      this.#timestampsMax[last] = Math.max(this.#timestampsMax[last]!, timestampsMax)
    }
  }

  /** Note an append entry that got no offsets. */
  onSkippedAppend(index: number): void {
    this.#skipped.push(index)
  }

  isSkipped(index: number): boolean {
    const at = lowerBound(this.#skipped, index)
    return this.#skipped[at] === index
  }

  /** The last entry at or below `offset`, or undefined when none. */
  locate(offset: number): OffsetLocation | undefined {
    const at = upperBound(this.#offsets, offset) - 1
    if (at < 0) return undefined
    return { offset: this.#offsets[at]!, index: this.#indexes[at]! }
  }

  /**
   * The first entry's offset whose stretch may hold a record with timestamp >= `timestampMs`
   * (timestamps need not be monotonic: the first stretch whose maximum reaches it), or undefined.
   */
  offsetForTime(timestampMs: number): number | undefined {
    const at = this.#timestampsMax.findIndex((max) => max >= timestampMs)
    return at < 0 ? undefined : this.#offsets[at]
  }

  /**
   * Forget entries below Raft index `firstRetainedIndex` (the log dropped them). Returns the
   * first offset still reachable, or undefined when no entry survives.
   */
  truncatePrefix(firstRetainedIndex: number): number | undefined {
    const keep = lowerBound(this.#indexes, firstRetainedIndex)
    this.#offsets.splice(0, keep)
    this.#indexes.splice(0, keep)
    this.#timestampsMax.splice(0, keep)
    this.#skipped.splice(0, lowerBound(this.#skipped, firstRetainedIndex))
    return this.#offsets[0]
  }

  #thin(): void {
    const keep = (_: number, i: number) => i % 2 === 0
    const merged = this.#timestampsMax.map((max, i) =>
      i % 2 === 0 ? Math.max(max, this.#timestampsMax[i + 1] ?? Number.NEGATIVE_INFINITY) : max,
    )
    this.#offsets = this.#offsets.filter(keep)
    this.#indexes = this.#indexes.filter(keep)
    this.#timestampsMax = merged.filter(keep)
    this.#intervalRecords *= 2
  }

  toSnapshot(): unknown[] {
    return [this.#intervalRecords, this.#offsets, this.#indexes, this.#timestampsMax, this.#skipped]
  }

  static fromSnapshot(value: unknown): OffsetIndex {
    const [interval, offsets, indexes, timestamps, skipped] = arrayOf(value, 'offset index')
    const index = new OffsetIndex(int(interval, 'intervalRecords'))
    index.#offsets = arrayOf(offsets, 'offsets').map((o) => int(o, 'offset'))
    index.#indexes = arrayOf(indexes, 'indexes').map((i) => int(i, 'index'))
    index.#timestampsMax = arrayOf(timestamps, 'timestamps').map((t) => num(t, 'timestamp'))
    index.#skipped = arrayOf(skipped, 'skipped').map((i) => int(i, 'skipped index'))
    if (
      index.#indexes.length !== index.#offsets.length ||
      index.#timestampsMax.length !== index.#offsets.length
    ) {
      throw new TypeError('offset index columns differ in length')
    }
    return index
  }
}

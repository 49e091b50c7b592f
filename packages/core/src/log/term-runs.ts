/**
 * Every entry's term, kept in memory compactly as runs `[startIndex, term]`: one run per
 * change of term, so a long log with few elections costs a few numbers, and Raft's synchronous
 * `term(i)` never touches storage.
 *
 * Invariants: startIndexes strictly increase; terms never decrease; the last run covers up to
 * the log's lastIndex.
 */
export class TermRuns {
  #startIndexes: number[] = []
  #terms: number[] = []

  get length(): number {
    return this.#startIndexes.length
  }

  /** The runs, oldest first (a copy). */
  runs(): Array<[startIndex: number, term: number]> {
    return this.#startIndexes.map((start, i) => [start, this.#terms[i]!])
  }

  /** The term at `index`, or undefined before the first run. The caller bounds `index` by lastIndex. */
  termAt(index: number): number | undefined {
    const starts = this.#startIndexes
    let lo = 0
    let hi = starts.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (starts[mid]! <= index) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found < 0 ? undefined : this.#terms[found]
  }

  /**
   * Records that the entry at `index` has `term`, `index` being the new last index.
   * Returns true when this starts a new run (the caller persists the run).
   */
  append(index: number, term: number): boolean {
    const last = this.#terms.length - 1
    if (last >= 0 && this.#terms[last] === term) return false
    this.#startIndexes.push(index)
    this.#terms.push(term)
    return true
  }

  /** Drops every run starting at or after `index` (a suffix truncation). Returns the dropped starts. */
  truncateFrom(index: number): number[] {
    const dropped: number[] = []
    while (this.#startIndexes.length > 0 && this.#startIndexes[this.#startIndexes.length - 1]! >= index) {
      dropped.push(this.#startIndexes.pop()!)
      this.#terms.pop()
    }
    return dropped
  }

  /**
   * Drops runs wholly before `index` (a prefix compaction); the run covering `index` is kept
   * (its start may stay below `index`). Returns the dropped starts.
   */
  compactBefore(index: number): number[] {
    let keepFrom = 0
    while (keepFrom + 1 < this.#startIndexes.length && this.#startIndexes[keepFrom + 1]! <= index) keepFrom++
    const dropped = this.#startIndexes.splice(0, keepFrom)
    this.#terms.splice(0, keepFrom)
    return dropped
  }

  clear(): void {
    this.#startIndexes = []
    this.#terms = []
  }
}

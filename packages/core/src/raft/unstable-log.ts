/**
 * Entries and a snapshot not yet persisted by the host (etcd-io/raft log_unstable.go).
 * They live here until the host persists a Ready and calls advance().
 */
import { invariantFailed } from './errors'
import type { Entry, Snapshot } from './types'

/** Entries and a snapshot the host has not persisted yet. */
export class UnstableLog {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: Snapshot | undefined = undefined
  /** Unpersisted entries. Invariant: entries[i].index === offset + i. */
  entries: Entry[] = []
  /** Index of entries[0] (or where the next entry goes when empty). */
  offset: number

  constructor(offset: number) {
    this.offset = offset
  }

  /** First index if a snapshot is pending (the index after it); else undefined. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined
  }

  /** Last index of the unstable entries or snapshot; undefined when neither exists. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1
    return this.snapshot ? this.snapshot.metadata.index : undefined
  }

  /** Term of `index` if this log knows it; else undefined. */
  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === index) return this.snapshot.metadata.term
      return undefined
    }
    const entry = this.entries[index - this.offset]
    return entry?.term
  }

  /** The host persisted entries up to (index, term): drop them. Ignored when they were since replaced. */
  stableTo(index: number, term: number): void {
    const entryTerm = this.maybeTerm(index)
    // A term mismatch means the entry was replaced after the Ready was taken: keep the new one.
    if (entryTerm === undefined || entryTerm !== term || index < this.offset) return
    const keep = index + 1 - this.offset
    this.entries = keep >= this.entries.length ? [] : this.entries.slice(keep)
    this.offset = index + 1
  }

  /** The host persisted the snapshot at `index`. */
  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1
    this.entries = []
    this.snapshot = snapshot
  }

  /** Appends `entries`, first truncating any suffix that conflicts (from entries[0].index on). */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    const fromIndex = first.index
    const end = this.offset + this.entries.length
    if (fromIndex === end) {
      // Common case: a plain append. A loop, not push(...entries): spreading large arrays overflows the stack.
      for (let i = 0; i < entries.length; i++) this.entries.push(entries[i] as Entry)
      return
    }
    if (fromIndex <= this.offset) {
      // Replaces everything unstable (the stable log is truncated when the host persists these).
      this.offset = fromIndex
      this.entries = entries.slice()
      return
    }
    if (!(fromIndex < end)) invariantFailed(`unstable append leaves a gap: ${fromIndex} after ${end - 1}`)
    const kept = this.entries.slice(0, fromIndex - this.offset)
    for (let i = 0; i < entries.length; i++) kept.push(entries[i] as Entry)
    this.entries = kept
  }

  /** Entries in [lo, hi); the caller guarantees offset <= lo <= hi <= offset + length. */
  slice(lo: number, hi: number): Entry[] {
    if (!(lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi))
      invariantFailed(
        `unstable slice [${lo}, ${hi}) out of bounds [${this.offset}, ${this.offset + this.entries.length})`,
      )
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}

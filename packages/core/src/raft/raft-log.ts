/**
 * The Raft log: stable entries in the host's LogStorage followed by unstable ones
 * (etcd-io/raft log.go).
 *
 * Invariants: applied <= applying <= committed <= lastIndex; firstIndex - 1 <= applied.
 */
import { invariant, invariantFailed } from './errors'
import { type Entry, type LogStorage, RaftLogError, type Snapshot } from './types'
import { UnstableLog } from './unstable-log'

/** Payload bytes of an entry, the unit of every byte bound in raft/ (maxSizePerMsg, ...). */
export function entryPayloadBytes(entry: Entry): number {
  return entry.data.byteLength
}

/** The longest prefix of `entries` within `maxBytes` of payload, but always at least one entry. */
export function limitEntriesSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length <= 1 || maxBytes === Number.POSITIVE_INFINITY) return entries
  let bytes = 0
  for (let i = 0; i < entries.length; i++) {
    bytes += (entries[i] as Entry).data.byteLength
    if (i > 0 && bytes > maxBytes) return entries.slice(0, i)
  }
  return entries
}

/** The log a Raft node works on: storage plus unstable entries, and the commit/apply indexes. */
export class RaftLog {
  readonly storage: LogStorage
  readonly unstable: UnstableLog
  /** Highest index known committed on a quorum. */
  committed: number
  /** Highest index handed to the host for applying (in a Ready not yet advanced). */
  applying: number
  /** Highest index the host has applied. */
  applied: number
  /** Bound on committed entry bytes handed out in one Ready. */
  readonly maxApplyingBytes: number

  constructor(storage: LogStorage, maxApplyingBytes: number) {
    this.storage = storage
    this.maxApplyingBytes = maxApplyingBytes
    const firstIndex = storage.firstIndex()
    this.unstable = new UnstableLog(storage.lastIndex() + 1)
    // The log starts at the last snapshot (firstIndex - 1), which is committed and applied.
    this.committed = firstIndex - 1
    this.applying = firstIndex - 1
    this.applied = firstIndex - 1
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex()
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex()
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex())
    invariant(term !== undefined, 'term of the last index is unknown')
    return term
  }

  /** Term of `index`, or undefined when compacted away or beyond the last index. */
  term(index: number): number | undefined {
    const unstableTerm = this.unstable.maybeTerm(index)
    if (unstableTerm !== undefined) return unstableTerm
    // The valid range is [firstIndex - 1, lastIndex]: the entry before firstIndex is the snapshot's.
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined
    try {
      return this.storage.term(index)
    } catch (error) {
      if (error instanceof RaftLogError && (error.kind === 'compacted' || error.kind === 'unavailable')) {
        return undefined
      }
      throw error
    }
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /**
   * Appends a leader's entries after (index, logTerm) if our log matches there, truncating from the
   * first conflict only. Returns the index of the last new entry, or undefined on mismatch.
   */
  maybeAppend(
    index: number,
    logTerm: number,
    committed: number,
    entries: readonly Entry[],
  ): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNewIndex = index + entries.length
    const conflictIndex = this.findConflict(entries)
    if (conflictIndex !== 0) {
      if (!(conflictIndex > this.committed))
        invariantFailed(`entry ${conflictIndex} conflicts with committed entry`)
      const start = conflictIndex - (index + 1)
      this.append(start === 0 ? entries : entries.slice(start))
    }
    // Only up to the last new entry: beyond it our log may still differ from the leader's.
    this.commitTo(Math.min(committed, lastNewIndex))
    return lastNewIndex
  }

  /** Appends entries (truncating a conflicting unstable suffix); returns the new last index. */
  append(entries: readonly Entry[]): number {
    const first = entries[0]
    if (first === undefined) return this.lastIndex()
    if (!(first.index - 1 >= this.committed))
      invariantFailed(`append at ${first.index} is below committed ${this.committed}`)
    this.unstable.truncateAndAppend(entries)
    return this.lastIndex()
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 if all match. */
  findConflict(entries: readonly Entry[]): number {
    const lastIndex = this.lastIndex()
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry
      // Past our last index nothing can match: the common case of a plain append, answered at once.
      if (entry.index > lastIndex) return entry.index
      if (!this.matchTerm(entry.index, entry.term)) return entry.index
    }
    return 0
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: the last place our log
   * may match a log whose entry at `index` has `term`. Drives fast backtracking of rejected appends.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const ourTerm = this.term(index)
      if (ourTerm === undefined) return { index, term: 0 }
      if (ourTerm <= term) return { index, term: ourTerm }
    }
    return { index: 0, term: 0 }
  }

  /** A copy of the unstable entries (the Ready's `entries`). */
  unstableEntries(): Entry[] {
    return this.unstable.entries.length === 0 ? [] : this.unstable.entries.slice()
  }

  hasNextCommittedEnts(): boolean {
    return this.unstable.snapshot === undefined && this.applying < this.committed
  }

  /** Committed entries not yet handed out, within maxApplyingBytes. */
  nextCommittedEnts(): Entry[] {
    if (!this.hasNextCommittedEnts()) return []
    return this.slice(this.applying + 1, this.committed + 1, this.maxApplyingBytes)
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot()
  }

  /** True when a log ending at (lastIndex, lastTerm) is at least as up to date as ours (5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourLastTerm = this.lastTerm()
    return lastTerm > ourLastTerm || (lastTerm === ourLastTerm && lastIndex >= this.lastIndex())
  }

  /**
   * Commits `maxIndex` when it is from `term` (the leader's current term): entries of earlier terms
   * commit only indirectly (5.4.2, Figure 8). `ignoreTerm` exists only for the test fault hook.
   */
  maybeCommit(maxIndex: number, term: number, ignoreTerm: boolean): boolean {
    if (maxIndex > this.committed && (ignoreTerm || this.term(maxIndex) === term)) {
      this.commitTo(maxIndex)
      return true
    }
    return false
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    if (!(index <= this.lastIndex()))
      invariantFailed(`commit ${index} is beyond the last index ${this.lastIndex()}`)
    this.committed = index
  }

  acceptApplying(index: number): void {
    if (index > this.applying) this.applying = index
  }

  appliedTo(index: number): void {
    if (index <= this.applied) return
    if (!(index <= this.committed)) invariantFailed(`applied ${index} is beyond committed ${this.committed}`)
    this.applied = index
    if (this.applying < index) this.applying = index
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term)
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index)
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index
    this.unstable.restore(snapshot)
  }

  /** Entries from `index` to the last, within `maxBytes`. May throw RaftLogError from storage. */
  entries(index: number, maxBytes: number): Entry[] {
    if (index > this.lastIndex()) return []
    return this.slice(index, this.lastIndex() + 1, maxBytes)
  }

  /**
   * Entries in [lo, hi) within `maxBytes` (at least one). Throws RaftLogError('compacted') below
   * firstIndex and passes through storage errors such as 'temporarilyUnavailable'.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return []
    if (lo < this.firstIndex()) throw new RaftLogError('compacted')
    if (!(hi <= this.lastIndex() + 1))
      invariantFailed(`slice [${lo}, ${hi}) beyond last index ${this.lastIndex()}`)
    const unstableOffset = this.unstable.offset
    let stored: Entry[] | undefined
    if (lo < unstableOffset) {
      const storedHi = Math.min(hi, unstableOffset)
      stored = this.storage.entries(lo, storedHi, maxBytes)
      // Storage hit the byte limit: the unstable part would not fit either.
      if (stored.length < storedHi - lo || hi <= unstableOffset) return limitEntriesSize(stored, maxBytes)
    }
    if (hi > unstableOffset) {
      const fresh = this.unstable.slice(Math.max(lo, unstableOffset), hi)
      // concat, not push: `stored` may be the storage's own array.
      return limitEntriesSize(stored === undefined ? fresh : stored.concat(fresh), maxBytes)
    }
    return limitEntriesSize(stored ?? [], maxBytes)
  }
}

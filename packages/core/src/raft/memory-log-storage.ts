/**
 * An in-memory LogStorage (etcd-io/raft storage.go MemoryStorage), for tests, benchmarks and the
 * simulator. entries[0] is a dummy holding the last snapshot's index and term.
 */
import { invariantFailed, RaftError } from './errors'
import { limitEntriesSize } from './raft-log'
import {
  type ConfState,
  type Entry,
  type HardState,
  type LogStorage,
  NONE,
  RaftLogError,
  type Snapshot,
} from './types'

const EMPTY_DATA = new Uint8Array(0)

function emptyConfState(): ConfState {
  return { voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
}

/** LogStorage in memory: append, hard state, snapshots and compaction, as etcd's MemoryStorage. */
export class MemoryLogStorage implements LogStorage {
  private hardState: HardState
  private currentSnapshot: Snapshot
  /** Invariant: entries[i].index === entries[0].index + i; entries[0] is the dummy. */
  private entriesWithDummy: Entry[]

  constructor(initial?: { hardState?: HardState; confState?: ConfState }) {
    this.hardState = initial?.hardState ?? { term: 0, vote: NONE, commit: 0 }
    this.currentSnapshot = {
      metadata: { index: 0, term: 0, confState: initial?.confState ?? emptyConfState() },
      data: EMPTY_DATA,
    }
    this.entriesWithDummy = [{ term: 0, index: 0, type: 'normal', data: EMPTY_DATA }]
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: this.currentSnapshot.metadata.confState }
  }

  setHardState(hardState: HardState): void {
    this.hardState = { ...hardState }
  }

  /** Index of the dummy entry (the last snapshot's index). */
  private offset = 0

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.offset) throw new RaftLogError('compacted')
    if (hi > this.lastIndex() + 1) throw new RaftLogError('unavailable', `entries' hi(${hi}) is out of bound`)
    if (lo >= hi) return []
    return limitEntriesSize(this.entriesWithDummy.slice(lo - this.offset, hi - this.offset), maxBytes)
  }

  term(index: number): number {
    const offset = this.offset
    if (index < offset) throw new RaftLogError('compacted')
    const entry = this.entriesWithDummy[index - offset]
    if (entry === undefined) throw new RaftLogError('unavailable')
    return entry.term
  }

  lastIndex(): number {
    return this.offset + this.entriesWithDummy.length - 1
  }

  firstIndex(): number {
    return this.offset + 1
  }

  snapshot(): Snapshot {
    return this.currentSnapshot
  }

  /** Replaces the log with a snapshot (a follower installing the leader's snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.currentSnapshot.metadata.index) {
      throw new RaftError('snapshotOutOfDate', 'requested snapshot is older than the existing one')
    }
    this.currentSnapshot = snapshot
    this.entriesWithDummy = [
      { term: snapshot.metadata.term, index: snapshot.metadata.index, type: 'normal', data: EMPTY_DATA },
    ]
    this.offset = snapshot.metadata.index
  }

  /** Records a snapshot of the applied state at `index` (entries stay until compact()). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.currentSnapshot.metadata.index) {
      throw new RaftError('snapshotOutOfDate', 'requested snapshot is older than the existing one')
    }
    if (!(index <= this.lastIndex()))
      invariantFailed(`snapshot ${index} is beyond the last index ${this.lastIndex()}`)
    const term = (this.entriesWithDummy[index - this.offset] as Entry).term
    this.currentSnapshot = { metadata: { index, term, confState }, data }
    return this.currentSnapshot
  }

  /** Discards entries up to and including `index`; the caller must not compact beyond what it applied. */
  compact(index: number): void {
    const offset = this.offset
    if (index <= offset) throw new RaftLogError('compacted')
    if (!(index <= this.lastIndex()))
      invariantFailed(`compact ${index} is beyond the last index ${this.lastIndex()}`)
    const position = index - offset
    const dummy: Entry = {
      term: (this.entriesWithDummy[position] as Entry).term,
      index,
      type: 'normal',
      data: EMPTY_DATA,
    }
    const kept = this.entriesWithDummy.slice(position)
    kept[0] = dummy
    this.entriesWithDummy = kept
    this.offset = index
  }

  /** Appends persisted entries, truncating a conflicting suffix; entries below firstIndex are skipped. */
  append(entries: Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    const firstIndex = this.firstIndex()
    const last = first.index + entries.length - 1
    if (last < firstIndex) return
    let start = 0
    if (firstIndex > first.index) start = firstIndex - first.index
    const position = (entries[start] as Entry).index - this.offset
    const length = this.entriesWithDummy.length
    if (!(position <= length))
      invariantFailed(`missing log entry [last: ${this.lastIndex()}, append at: ${position + this.offset}]`)
    if (position < length) this.entriesWithDummy.length = position
    for (let i = start; i < entries.length; i++) this.entriesWithDummy.push(entries[i] as Entry)
  }
}

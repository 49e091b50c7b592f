import { bootstrappedLogStorage } from '../log/bootstrapped-log-storage'
import type { GroupCommit } from '../log/group-commit'
import type { SegmentedLog } from '../log/segmented-log'
import type { Clock } from '../ports/clock'
import type { ConfState, Entry, LogStorage, Ready } from '../raft/types'
import type { GroupLogStore } from './raft-group'

/**
 * A group's Raft log on the node's Storage: a SegmentedLog (the partition's commit log itself)
 * whose writes go through the node's GroupCommit, so every group ready at one moment shares
 * one storage write and one sync.
 *
 * A fresh log has no configuration; groups are bootstrapped from the controller's placement
 * (the same on every replica), so this wrapper answers that configuration until the log holds
 * a snapshot of its own. Invariant: `bootstrap` is identical on every replica of the group.
 */
export class SegmentedGroupLog implements GroupLogStore {
  readonly log: SegmentedLog
  readonly logStorage: LogStorage
  readonly #groupCommit: GroupCommit
  readonly #clock: Clock

  constructor(log: SegmentedLog, groupCommit: GroupCommit, clock: Clock, bootstrap: ConfState) {
    this.log = log
    this.#groupCommit = groupCommit
    this.#clock = clock
    this.logStorage = bootstrappedLogStorage(log, bootstrap)
  }

  persist(ready: Ready): Promise<void> | undefined {
    if (ready.hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined)
      return undefined
    const staged = this.log.stage({
      hardState: ready.hardState,
      entries: ready.entries,
      snapshot: ready.snapshot,
      timestampMs: this.#clock.now(),
    })
    return this.#groupCommit.commit(staged, { sync: ready.mustSync })
  }

  /**
   * Clears this log from storage (the group's replica is gone for good): the log refuses writes
   * at once, then one range clear over the group's keys goes through the GroupCommit after every
   * write this log queued there or on its own chain (retention, snapshots).
   */
  destroy(): Promise<void> {
    const staged = this.log.stageDestroy()
    return this.log.writesSettled().then(() => this.#groupCommit.commit(staged, { sync: true }))
  }

  readEntries(lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
    const from = Math.max(lo, this.log.firstIndex())
    const to = Math.min(hi, this.log.lastIndex() + 1)
    if (from >= to) return Promise.resolve([])
    return this.log.readEntries(from, to, maxBytes)
  }

  onEntriesLoaded(wake: () => void): void {
    this.log.onEntriesLoaded(() => wake())
  }

  onApplied(index: number): void {
    this.log.retainFrom(index + 1)
  }
}

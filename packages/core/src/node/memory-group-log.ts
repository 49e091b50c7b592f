import { MemoryLogStorage } from '../raft/index'
import type { ConfState, Entry, Ready } from '../raft/types'
import type { GroupLogStore } from './raft-group'

/**
 * A group log kept in memory only (Raft's MemoryLogStorage): for nodes without durable
 * storage needs and for tests. Nothing survives a restart.
 */
export class MemoryGroupLog implements GroupLogStore {
  readonly logStorage: MemoryLogStorage

  constructor(confState: ConfState) {
    this.logStorage = new MemoryLogStorage({ confState })
  }

  persist(ready: Ready): void {
    if (ready.snapshot !== undefined) this.logStorage.applySnapshot(ready.snapshot)
    if (ready.entries.length > 0) this.logStorage.append(ready.entries)
    if (ready.hardState !== undefined) this.logStorage.setHardState(ready.hardState)
  }

  async readEntries(lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
    const first = this.logStorage.firstIndex()
    const last = this.logStorage.lastIndex()
    const from = Math.max(lo, first)
    const to = Math.min(hi, last + 1)
    if (from >= to) return []
    return this.logStorage.entries(from, to, maxBytes)
  }
}

import type { HardState, LogStorage, Ready } from '@laminar-ts/core'

/**
 * Where a Raft process keeps its log: Raft's LogStorage view plus the host side of the Ready
 * contract. `persist` resolves once the Ready's hard state and entries are written (durably
 * when `sync`); only then may the process send, apply and advance.
 */
export interface RaftLogBackend {
  readonly logStorage: LogStorage
  /** The hard state read back when the log was opened. */
  readonly recoveredHardState: HardState
  persist(ready: Ready, sync: boolean): Promise<void>
  lastIndex(): number
  /** Term of every entry, index 1 first (for the leader-completeness checker). */
  terms(): number[]
  /**
   * (term, digest) of every entry, index 1 first (for the log-matching checker); undefined when
   * the log cannot be read synchronously right now.
   */
  snapshotForChecks(): Array<{ term: number; digest: string }> | undefined
}

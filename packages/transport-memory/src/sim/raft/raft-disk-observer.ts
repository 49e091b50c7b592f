import { DurableRaftMirror } from './persisted-raft-log'

/**
 * What every node's disk durably holds of its Raft log, as the simulated disks report it: the
 * checkers' ground truth for "durable on a majority" and "could a node be elected without
 * this entry". Processes never read it.
 */
export class RaftDiskObserver {
  readonly #mirrors = new Map<string, DurableRaftMirror>()
  /** The highest index whose first apply was checked (later applies find it more replicated). */
  #checkedApplyIndex = 0

  constructor(nodeIds: readonly string[]) {
    for (const id of nodeIds) this.#mirrors.set(id, new DurableRaftMirror())
  }

  mirror(id: string): DurableRaftMirror {
    const mirror = this.#mirrors.get(id)
    if (mirror === undefined) throw new RangeError(`no disk for ${id}`)
    return mirror
  }

  /** How many nodes hold the entry (index, term) on disk now. */
  durableReplicas(index: number, term: number): number {
    let count = 0
    for (const mirror of this.#mirrors.values()) if (mirror.has(index, term)) count++
    return count
  }

  /**
   * A node that could be elected without the entry (index, term): its disk lacks it, yet a
   * majority of disks hold logs no more up-to-date than its own (Raft 5.4.1's vote rule), so
   * they would all grant it their vote. Undefined when every possible leader has the entry.
   */
  electableWithout(index: number, term: number): string | undefined {
    const mirrors = [...this.#mirrors]
    const majority = Math.floor(mirrors.length / 2) + 1
    for (const [id, candidate] of mirrors) {
      if (candidate.terms.get(index) === term) continue
      const lastTerm = candidate.lastTerm
      const lastIndex = candidate.lastIndex
      let voters = 0
      for (const [, voter] of mirrors) {
        const voterTerm = voter.lastTerm
        if (voterTerm < lastTerm || (voterTerm === lastTerm && voter.lastIndex <= lastIndex)) voters++
      }
      if (voters >= majority) return id
    }
    return undefined
  }

  /** {@link electableWithout}, asked only on the first apply of each index. */
  checkFirstApply(index: number, term: number): string | undefined {
    if (index <= this.#checkedApplyIndex) return undefined
    this.#checkedApplyIndex = index
    return this.electableWithout(index, term)
  }
}

/**
 * Raft's safety properties (Figure 3 of the paper) as checks over observed cluster state.
 * Pure functions over plain data, so they can be tested against planted violations.
 */

/** A log as the term of each index: terms[i] is the term of index firstIndex + i. */
export interface ObservedLog {
  firstIndex: number
  terms: number[]
}

export interface AppliedEntry {
  index: number
  term: number
  /** The payload as a string key (e.g. hex), to compare what state machines applied. */
  data: string
}

/** Election safety: at most one leader per term. `leadersByTerm` accumulates across the run. */
export function checkElectionSafety(
  leadersByTerm: Map<number, string>,
  currentLeaders: Array<{ id: string; term: number }>,
): string | undefined {
  for (const { id, term } of currentLeaders) {
    const known = leadersByTerm.get(term)
    if (known !== undefined && known !== id)
      return `election safety: ${known} and ${id} both led term ${term}`
    leadersByTerm.set(term, id)
  }
  return undefined
}

function termAt(log: ObservedLog, index: number): number | undefined {
  return log.terms[index - log.firstIndex]
}

/**
 * Log matching: if two logs hold an entry with the same index and term, they are identical in
 * every entry up to that index (checked over the indexes both still hold).
 */
export function checkLogMatching(logs: Map<string, ObservedLog>): string | undefined {
  const entries = [...logs.entries()]
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [idA, a] = entries[i] as [string, ObservedLog]
      const [idB, b] = entries[j] as [string, ObservedLog]
      const first = Math.max(a.firstIndex, b.firstIndex)
      const last = Math.min(a.firstIndex + a.terms.length - 1, b.firstIndex + b.terms.length - 1)
      // Find the highest shared index with equal terms; everything below must match.
      let matchedFrom = -1
      for (let index = last; index >= first; index--) {
        if (termAt(a, index) === termAt(b, index)) {
          matchedFrom = index
          break
        }
      }
      for (let index = first; index <= matchedFrom; index++) {
        if (termAt(a, index) !== termAt(b, index)) {
          return `log matching: ${idA} and ${idB} agree at ${matchedFrom} but differ at ${index}`
        }
      }
    }
  }
  return undefined
}

/**
 * Leader completeness: a leader of a term later than the one in which an entry was known
 * committed holds that entry. `committed` maps index -> { term of the entry, term observed committed }.
 */
export function checkLeaderCompleteness(
  committed: Map<number, { term: number; observedInTerm: number }>,
  leaders: Array<{ id: string; term: number; log: ObservedLog }>,
): string | undefined {
  for (const leader of leaders) {
    for (const [index, { term, observedInTerm }] of committed) {
      if (leader.term <= observedInTerm) continue
      if (index < leader.log.firstIndex) continue
      const held = termAt(leader.log, index)
      if (held !== term) {
        return `leader completeness: leader ${leader.id} of term ${leader.term} lacks committed entry ${index} (term ${term})`
      }
    }
  }
  return undefined
}

/** State machine safety: no two nodes apply different entries at the same index. Accumulates into `appliedByIndex`. */
export function checkStateMachineSafety(
  appliedByIndex: Map<number, AppliedEntry>,
  nodeId: string,
  applied: AppliedEntry[],
): string | undefined {
  for (const entry of applied) {
    const known = appliedByIndex.get(entry.index)
    if (known === undefined) {
      appliedByIndex.set(entry.index, entry)
    } else if (known.term !== entry.term || known.data !== entry.data) {
      return `state machine safety: ${nodeId} applied a different entry at index ${entry.index}`
    }
  }
  return undefined
}

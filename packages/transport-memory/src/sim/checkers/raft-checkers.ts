import type { NodeId } from '@laminar-ts/core'
import type { RaftEvent } from '../history'
import { type Checker, VIOLATIONS_PER_CHECKER_MAX, type Violation } from './violation'

/** A bounded violation list. */
function collector(checker: string): { add(message: string, atMs?: number): void; list: Violation[] } {
  const list: Violation[] = []
  return {
    list,
    add(message, atMs) {
      if (list.length < VIOLATIONS_PER_CHECKER_MAX) list.push({ checker, message, atMs })
    },
  }
}

/** Election safety (Raft 5.2): at most one leader per term. */
export const checkElectionSafety: Checker = (history) => {
  const out = collector('election-safety')
  const leaders = new Map<number, NodeId>()
  for (const event of history.raft) {
    if (event.kind !== 'leader') continue
    const known = leaders.get(event.term)
    if (known === undefined) leaders.set(event.term, event.node)
    else if (known !== event.node)
      out.add(`term ${event.term} has two leaders: ${known} and ${event.node}`, event.atMs)
  }
  return out.list
}

/** One vote per term (5.2), across restarts: a node never grants two candidates in one term. */
export const checkOneVotePerTerm: Checker = (history) => {
  const out = collector('one-vote-per-term')
  const votes = new Map<string, NodeId>()
  for (const event of history.raft) {
    if (event.kind !== 'vote') continue
    const key = `${event.node}@${event.term}`
    const known = votes.get(key)
    if (known === undefined) votes.set(key, event.candidate)
    else if (known !== event.candidate) {
      out.add(`${event.node} voted for ${known} and ${event.candidate} in term ${event.term}`, event.atMs)
    }
  }
  return out.list
}

/**
 * Log matching (5.3): if two logs hold an entry with the same index and term, the logs are
 * identical up to that index. Checked on every recorded log snapshot.
 */
export const checkLogMatching: Checker = (history) => {
  const out = collector('log-matching')
  for (const event of history.raft) {
    if (event.kind !== 'logs') continue
    const nodes = Object.keys(event.logs).sort()
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const logA = event.logs[nodes[a]!]!
        const logB = event.logs[nodes[b]!]!
        let matchAt = Math.min(logA.length, logB.length)
        while (matchAt > 0 && logA[matchAt - 1]!.term !== logB[matchAt - 1]!.term) matchAt--
        for (let i = 0; i < matchAt; i++) {
          const x = logA[i]!
          const y = logB[i]!
          if (x.term !== y.term || x.digest !== y.digest) {
            out.add(
              `${nodes[a]} and ${nodes[b]} agree at index ${matchAt} but differ at index ${i + 1} ` +
                `(${x.term}/${x.digest} vs ${y.term}/${y.digest})`,
              event.atMs,
            )
            break
          }
        }
      }
    }
  }
  return out.list
}

/**
 * Leader completeness (5.4): an entry known committed before a node became leader of a later
 * term is in that leader's log. An entry's commit term is bounded by the term of any node that
 * applied it, so entries applied by some node at a term below the new leader's are checked.
 */
export const checkLeaderCompleteness: Checker = (history) => {
  const out = collector('leader-completeness')
  const committed = new Map<number, { term: number; minNodeTerm: number }>()
  for (const event of history.raft) {
    if (event.kind === 'apply') {
      const known = committed.get(event.index)
      if (known === undefined) committed.set(event.index, { term: event.term, minNodeTerm: event.nodeTerm })
      else if (event.nodeTerm < known.minNodeTerm) known.minNodeTerm = event.nodeTerm
    } else if (event.kind === 'leader') {
      for (const [index, entry] of committed) {
        if (entry.minNodeTerm >= event.term) continue
        const term = event.logTerms[index - 1]
        if (term !== entry.term) {
          out.add(
            `${event.node} became leader of term ${event.term} without committed entry ${index}/${entry.term} ` +
              `(its log has ${term === undefined ? 'nothing' : `term ${term}`} there)`,
            event.atMs,
          )
        }
      }
    }
  }
  return out.list
}

/** State machine safety (5.4.3): no two nodes (or incarnations) apply different entries at one index. */
export const checkStateMachineSafety: Checker = (history) => {
  const out = collector('state-machine-safety')
  const applied = new Map<number, { term: number; digest: string; node: NodeId }>()
  for (const event of history.raft) {
    if (event.kind !== 'apply') continue
    const known = applied.get(event.index)
    if (known === undefined)
      applied.set(event.index, { term: event.term, digest: event.digest, node: event.node })
    else if (known.term !== event.term || known.digest !== event.digest) {
      out.add(
        `index ${event.index}: ${known.node} applied ${known.term}/${known.digest}, ` +
          `${event.node} applied ${event.term}/${event.digest}`,
        event.atMs,
      )
    }
  }
  return out.list
}

/**
 * Term, vote and commit never go backwards: within a process life they only grow (the vote is
 * fixed within a term), and what a restarted node reads back is at least what it last synced.
 */
export const checkDurableStateMonotonic: Checker = (history) => {
  const out = collector('durable-state-monotonic')
  const lastSeen = new Map<string, { term: number; vote: NodeId; commit: number }>()
  const lastSynced = new Map<NodeId, { term: number; vote: NodeId; commit: number }>()
  /** The last vote each node granted: a promise to a candidate that must survive a restart. */
  const lastGranted = new Map<NodeId, { term: number; candidate: NodeId }>()
  for (const event of history.raft) {
    if (event.kind === 'vote') {
      const known = lastGranted.get(event.node)
      if (known === undefined || event.term >= known.term) lastGranted.set(event.node, event)
    } else if (event.kind === 'hardState') {
      const life = `${event.node}#${event.incarnation}`
      const previous = lastSeen.get(life)
      if (previous !== undefined) {
        if (event.term < previous.term)
          out.add(`${event.node} term went back ${previous.term} -> ${event.term}`, event.atMs)
        else if (event.term === previous.term && previous.vote !== '' && event.vote !== previous.vote) {
          out.add(
            `${event.node} changed its vote in term ${event.term}: ${previous.vote} -> ${event.vote}`,
            event.atMs,
          )
        }
        if (event.commit < previous.commit) {
          out.add(`${event.node} commit went back ${previous.commit} -> ${event.commit}`, event.atMs)
        }
      }
      lastSeen.set(life, event)
      if (event.synced) lastSynced.set(event.node, event)
    } else if (event.kind === 'recovered') {
      const granted = lastGranted.get(event.node)
      if (granted !== undefined) {
        if (event.term < granted.term) {
          out.add(
            `${event.node} restarted in term ${event.term} after voting in term ${granted.term}`,
            event.atMs,
          )
        } else if (event.term === granted.term && event.vote !== granted.candidate) {
          out.add(
            `${event.node} restarted in term ${event.term} with vote '${event.vote}' after granting ` +
              `its vote to ${granted.candidate}`,
            event.atMs,
          )
        }
      }
      const synced = lastSynced.get(event.node)
      if (synced === undefined) continue
      if (event.term < synced.term) {
        out.add(
          `${event.node} restarted with term ${event.term} after syncing term ${synced.term}`,
          event.atMs,
        )
      } else if (event.term === synced.term && synced.vote !== '' && event.vote !== synced.vote) {
        out.add(
          `${event.node} restarted with vote '${event.vote}' in term ${event.term}, synced '${synced.vote}'`,
          event.atMs,
        )
      }
      if (event.commit < synced.commit) {
        out.add(
          `${event.node} restarted with commit ${event.commit} after syncing ${synced.commit}`,
          event.atMs,
        )
      }
      lastSeen.set(`${event.node}#${event.incarnation}`, event)
    }
  }
  return out.list
}

/** Nothing is acknowledged to a client before a majority holds it durably. */
export const checkAckDurability: Checker = (history) => {
  const out = collector('ack-durability')
  for (const event of history.raft) {
    if (event.kind !== 'ack') continue
    const majority = Math.floor(event.clusterSize / 2) + 1
    if (event.durableReplicas < majority) {
      out.add(
        `entry ${event.index}/${event.term} acknowledged by ${event.node} while on disk at ` +
          `${event.durableReplicas} of ${event.clusterSize} nodes`,
        event.atMs,
      )
    }
  }
  return out.list
}

/**
 * Committed means unlosable: when an entry is first applied, no node lacking it may be able to
 * win an election on the disks as they are (a majority of disks no more up-to-date than its
 * own). Raft guarantees this for entries committed by its rules; an entry committed too early
 * (say, an earlier term's entry counted into a majority, Figure 8) breaks it before any
 * overwrite happens.
 */
export const checkCommittedEntriesUnlosable: Checker = (history) => {
  const out = collector('committed-entry-unlosable')
  for (const event of history.raft) {
    if (event.kind !== 'apply' || event.electableWithout === undefined) continue
    out.add(
      `${event.node} applied ${event.index}/${event.term}, yet ${event.electableWithout} lacks it and could win ` +
        `an election with the disks as they are`,
      event.atMs,
    )
  }
  return out.list
}

/** The Raft checkers every Raft-level simulation runs. */
export const RAFT_CHECKERS: ReadonlyArray<{ name: string; check: Checker }> = [
  { name: 'election-safety', check: checkElectionSafety },
  { name: 'one-vote-per-term', check: checkOneVotePerTerm },
  { name: 'log-matching', check: checkLogMatching },
  { name: 'leader-completeness', check: checkLeaderCompleteness },
  { name: 'state-machine-safety', check: checkStateMachineSafety },
  { name: 'durable-state-monotonic', check: checkDurableStateMonotonic },
  { name: 'ack-durability', check: checkAckDurability },
  { name: 'committed-entry-unlosable', check: checkCommittedEntriesUnlosable },
]

export type { RaftEvent }

/**
 * The paper's Figure 8 scenario, scripted on 5 nodes: an entry from an earlier term replicated on
 * a majority must not be committed by counting, because a later leader may still overwrite it.
 * Run once with the rules and once with the commitPreviousTermByCounting fault hook, which the
 * state machine safety checker must catch.
 */
import { describe, expect, it } from 'vitest'
import type { Message, RaftFaults } from '../../src/raft/index'
import { message } from './helpers'
import { bytes, decoder, Network } from './network'
import { type AppliedEntry, checkStateMachineSafety } from './safety-checkers'

const ids = ['s1', 's2', 's3', 's4', 's5']

/** Rewrites (or drops, with undefined) a message in flight. */
type Transform = (message: Message) => Message | undefined

function runRounds(network: Network, transform: Transform = (m) => m, rounds = 30): void {
  for (let round = 0; round < rounds; round++) {
    network.processReadies()
    if (network.pending.length === 0) return
    const batch = network.pending
    network.pending = []
    for (const message of batch) {
      const delivered = transform(message)
      if (delivered) network.deliver(delivered)
    }
  }
}

/** A stale leader cut off from the others learns of a newer term (as a response would tell it). */
function learnNewerTerm(network: Network, id: string, from: string): void {
  const term = network.raw(from).status().term
  network.raw(id).step(message({ type: 'appResp', from, to: id, term }))
  expect(network.raw(id).status().role).toBe('follower')
}

function campaignUntil(network: Network, id: string, transform?: Transform): void {
  for (let attempt = 0; attempt < 5 && network.raw(id).status().role !== 'leader'; attempt++) {
    network.raw(id).campaign()
    runRounds(network, transform)
  }
  expect(network.raw(id).status().role).toBe('leader')
}

function violations(network: Network): string | undefined {
  const appliedByIndex = new Map<number, AppliedEntry>()
  for (const [id, node] of network.nodes) {
    const applied = node.applied.map((e) => ({ index: e.index, term: e.term, data: decoder.decode(e.data) }))
    const violation = checkStateMachineSafety(appliedByIndex, id, applied)
    if (violation) return violation
  }
  return undefined
}

function figure8(faults?: RaftFaults): { network: Network; replicasOfA: number } {
  // One entry per append (maxSizePerMsg 0) so the script controls which entries reach whom.
  const network = new Network(ids, {
    config: { preVote: false, checkQuorum: false, maxSizePerMsg: 0, ...(faults ? { faults } : {}) },
  })
  network.elect('s1')
  // (a) s1 leads; entry A reaches only s2.
  for (const other of ['s3', 's4', 's5']) network.cut('s1', other)
  network.raw('s1').propose(bytes('A'))
  runRounds(network)
  // (b) s5 is elected by s3 and s4 but its own entry at index 2 reaches nobody.
  network.heal()
  network.cut('s5', 's1')
  network.cut('s5', 's2')
  network.cut('s1', 's3')
  network.cut('s1', 's4')
  campaignUntil(network, 's5', (m) => (m.from === 's5' && m.type === 'app' ? undefined : m))
  network.isolate('s5')
  runRounds(network)
  // (c) s1 is elected again (term 4) and replicates A to s3, but not its own entry at index 3.
  network.heal()
  network.isolate('s5')
  learnNewerTerm(network, 's1', 's3')
  // Appends to s3 and s4 lose every entry from index 3 on (the leader's own-term entry).
  const holdBackOwnTermEntry: Transform = (m) =>
    m.type === 'app' && (m.to === 's3' || m.to === 's4')
      ? { ...m, entries: m.entries.filter((e) => e.index < 3) }
      : m
  campaignUntil(network, 's1', holdBackOwnTermEntry)
  runRounds(network, holdBackOwnTermEntry)
  const replicasOfA = [...network.nodes.values()].filter(
    (node) =>
      node.storage.lastIndex() >= 2 && decoder.decode(node.storage.entries(2, 3, 1024)[0]?.data) === 'A',
  ).length
  // (d) s1 crashes; s5 returns and wins with s3 and s4: its log (last term 2) beats theirs (term 1).
  network.heal()
  network.isolate('s1')
  learnNewerTerm(network, 's5', 's3')
  campaignUntil(network, 's5')
  network.raw('s5').propose(bytes('B'))
  runRounds(network)
  return { network, replicasOfA }
}

describe('Figure 8', () => {
  it('5.4.2: an earlier-term entry on a majority is not committed by counting, so overwriting it is safe', () => {
    const { network, replicasOfA } = figure8()
    // A did reach a majority (s1, s2, s3) before s5 overwrote it.
    expect(replicasOfA).toBeGreaterThanOrEqual(3)
    expect(network.appliedData('s1')).toEqual([])
    expect(network.appliedData('s3')).toEqual(['B'])
    expect(violations(network)).toBeUndefined()
  })

  it('with the commitPreviousTermByCounting fault, A is committed, then overwritten: the checker catches it', () => {
    const { network, replicasOfA } = figure8({ commitPreviousTermByCounting: true })
    expect(replicasOfA).toBeGreaterThanOrEqual(3)
    expect(network.appliedData('s1')).toEqual(['A'])
    expect(violations(network)).toMatch(/state machine safety/)
  })
})

import { describe, expect, it } from 'vitest'
import {
  checkAckDurability,
  checkCommittedEntriesUnlosable,
  checkDuplicates,
  checkDurableStateMonotonic,
  checkElectionSafety,
  checkInconsistentOffsets,
  checkLeaderCompleteness,
  checkLogMatching,
  checkLostWrites,
  checkOneVotePerTerm,
  checkPollOrder,
  checkSeenButFailed,
  checkStateMachineSafety,
  checkUnseen,
  type QueueEvent,
  type RaftEvent,
  SimHistory,
} from '../src/index'

function history(events: RaftEvent[]): SimHistory {
  const h = new SimHistory()
  for (const event of events) h.recordRaft(event)
  return h
}

const apply = (node: string, index: number, term: number, digest: string, nodeTerm = term): RaftEvent => ({
  kind: 'apply',
  atMs: 0,
  node,
  incarnation: 1,
  index,
  term,
  digest,
  nodeTerm,
})

describe('Raft checkers', () => {
  it('election safety: two leaders in one term', () => {
    const ok = history([
      { kind: 'leader', atMs: 1, node: 'n1', term: 1, logTerms: [] },
      { kind: 'leader', atMs: 2, node: 'n2', term: 2, logTerms: [] },
      { kind: 'leader', atMs: 3, node: 'n2', term: 2, logTerms: [] },
    ])
    expect(checkElectionSafety(ok)).toEqual([])
    const bad = history([
      { kind: 'leader', atMs: 1, node: 'n1', term: 3, logTerms: [] },
      { kind: 'leader', atMs: 2, node: 'n2', term: 3, logTerms: [] },
    ])
    expect(checkElectionSafety(bad)).toHaveLength(1)
  })

  it('one vote per term, across restarts', () => {
    const vote = (candidate: string, term = 4): RaftEvent => ({
      kind: 'vote',
      atMs: 0,
      node: 'n1',
      term,
      candidate,
    })
    expect(checkOneVotePerTerm(history([vote('n2'), vote('n2'), vote('n3', 5)]))).toEqual([])
    expect(checkOneVotePerTerm(history([vote('n2'), vote('n3')]))).toHaveLength(1)
  })

  it('log matching: same index and term means the same prefix', () => {
    const logs = (a: string[], b: string[]): RaftEvent => ({
      kind: 'logs',
      atMs: 0,
      logs: {
        n1: a.map((d) => ({ term: Number(d[0]), digest: d })),
        n2: b.map((d) => ({ term: Number(d[0]), digest: d })),
      },
    })
    expect(checkLogMatching(history([logs(['1a', '1b', '2c'], ['1a', '1b', '3x'])]))).toEqual([])
    expect(checkLogMatching(history([logs(['1a', '1b', '2c'], ['1a', '1z', '2c'])]))).toHaveLength(1)
  })

  it('leader completeness: a later leader holds every entry applied before at a lower term', () => {
    const ok = history([
      apply('n1', 1, 1, 'x', 1),
      { kind: 'leader', atMs: 1, node: 'n2', term: 2, logTerms: [1] },
    ])
    expect(checkLeaderCompleteness(ok)).toEqual([])
    const bad = history([
      apply('n1', 1, 1, 'x', 1),
      apply('n1', 2, 1, 'y', 1),
      { kind: 'leader', atMs: 1, node: 'n2', term: 2, logTerms: [1] },
    ])
    expect(checkLeaderCompleteness(bad)).toHaveLength(1)
    // Not applied below the leader's term yet: nothing to hold.
    const early = history([
      apply('n1', 1, 2, 'x', 2),
      { kind: 'leader', atMs: 1, node: 'n2', term: 2, logTerms: [] },
    ])
    expect(checkLeaderCompleteness(early)).toEqual([])
  })

  it('state machine safety: one entry per index everywhere', () => {
    expect(checkStateMachineSafety(history([apply('n1', 1, 1, 'x'), apply('n2', 1, 1, 'x')]))).toEqual([])
    expect(checkStateMachineSafety(history([apply('n1', 1, 1, 'x'), apply('n2', 1, 2, 'y')]))).toHaveLength(1)
  })

  it('durable state: term, vote and commit never go back, granted votes survive restarts', () => {
    const hard = (
      incarnation: number,
      term: number,
      vote: string,
      commit: number,
      synced = true,
    ): RaftEvent => ({
      kind: 'hardState',
      atMs: 0,
      node: 'n1',
      incarnation,
      term,
      vote,
      commit,
      synced,
    })
    const recovered = (term: number, vote: string, commit: number): RaftEvent => ({
      kind: 'recovered',
      atMs: 0,
      node: 'n1',
      incarnation: 2,
      term,
      vote,
      commit,
    })
    expect(checkDurableStateMonotonic(history([hard(1, 1, 'n2', 3), recovered(1, 'n2', 3)]))).toEqual([])
    expect(checkDurableStateMonotonic(history([hard(1, 2, '', 3), hard(1, 1, '', 3)]))).toHaveLength(1)
    expect(checkDurableStateMonotonic(history([hard(1, 2, 'n2', 3), hard(1, 2, 'n3', 3)]))).toHaveLength(1)
    expect(checkDurableStateMonotonic(history([hard(1, 2, 'n2', 5), recovered(2, 'n2', 4)]))).toHaveLength(1)
    // An unsynced hard state may be lost.
    expect(checkDurableStateMonotonic(history([hard(1, 2, 'n2', 5, false), recovered(1, '', 0)]))).toEqual([])
    const granted: RaftEvent = { kind: 'vote', atMs: 0, node: 'n1', term: 3, candidate: 'n2' }
    expect(checkDurableStateMonotonic(history([granted, recovered(3, '', 0)]))).toHaveLength(1)
    expect(checkDurableStateMonotonic(history([granted, recovered(3, 'n2', 0)]))).toEqual([])
  })

  it('acks need a durable majority; applied entries must be unlosable', () => {
    const ack = (durableReplicas: number): RaftEvent => ({
      kind: 'ack',
      atMs: 0,
      node: 'n1',
      index: 1,
      term: 1,
      digest: 'x',
      durableReplicas,
      clusterSize: 5,
    })
    expect(checkAckDurability(history([ack(3)]))).toEqual([])
    expect(checkAckDurability(history([ack(2)]))).toHaveLength(1)
    expect(checkCommittedEntriesUnlosable(history([apply('n1', 1, 1, 'x')]))).toEqual([])
    expect(
      checkCommittedEntriesUnlosable(
        history([{ ...(apply('n1', 1, 1, 'x') as object), electableWithout: 'n3' } as RaftEvent]),
      ),
    ).toHaveLength(1)
  })
})

const send = (value: string, outcome: 'ok' | 'failed' | 'unknown', offset?: number): QueueEvent => ({
  kind: 'send',
  atMs: 0,
  client: 'p',
  topic: 't',
  partition: 0,
  value,
  outcome,
  offset,
})
const poll = (group: string, records: Array<[number, string]>): QueueEvent => ({
  kind: 'poll',
  atMs: 0,
  client: 'c',
  group,
  topic: 't',
  partition: 0,
  records: records.map(([offset, value]) => ({ offset, value })),
})
const final = (records: Array<[number, string]>): QueueEvent => ({
  kind: 'final',
  atMs: 0,
  topic: 't',
  partition: 0,
  records: records.map(([offset, value]) => ({ offset, value })),
})

describe('queue checkers (Maelstrom kafka anomalies)', () => {
  const clean: QueueEvent[] = [
    send('a', 'ok', 0),
    send('b', 'ok', 1),
    send('c', 'failed'),
    send('d', 'unknown'),
    poll('g', [
      [0, 'a'],
      [1, 'b'],
    ]),
    poll('g', [[1, 'b']]),
    {
      kind: 'read',
      atMs: 0,
      client: 'r',
      topic: 't',
      partition: 0,
      fromOffset: 0,
      records: [
        { offset: 0, value: 'a' },
        { offset: 1, value: 'b' },
      ],
    },
    final([
      [0, 'a'],
      [1, 'b'],
    ]),
  ]

  it('a clean history passes every check', () => {
    expect([
      ...checkLostWrites(clean),
      ...checkDuplicates(clean),
      ...checkInconsistentOffsets(clean),
      ...checkUnseen(clean),
      ...checkPollOrder(clean),
      ...checkSeenButFailed(clean),
    ]).toEqual([])
  })

  it('lost write: acknowledged but not in the final read', () => {
    expect(checkLostWrites([send('a', 'ok', 0), final([])])).toHaveLength(1)
  })

  it('duplicate: one value at two offsets', () => {
    expect(checkDuplicates([send('a', 'ok', 0), final([[3, 'a']])])).toHaveLength(1)
  })

  it('inconsistent offsets: two values at one offset', () => {
    expect(checkInconsistentOffsets([send('a', 'ok', 0), poll('g', [[0, 'b']])])).toHaveLength(1)
  })

  it('unseen: acknowledged, never delivered to a consuming group', () => {
    expect(checkUnseen([send('a', 'ok', 0), send('b', 'ok', 1), poll('g', [[0, 'a']])])).toHaveLength(1)
    expect(checkUnseen([send('a', 'ok', 0)], ['g2'])).toHaveLength(1)
  })

  it('poll order: out-of-order batches and skipping reads', () => {
    expect(
      checkPollOrder([
        poll('g', [
          [2, 'x'],
          [1, 'y'],
        ]),
      ]),
    ).toHaveLength(1)
    expect(
      checkPollOrder([
        {
          kind: 'read',
          atMs: 0,
          client: 'r',
          topic: 't',
          partition: 0,
          fromOffset: 5,
          records: [
            { offset: 5, value: 'x' },
            { offset: 7, value: 'y' },
          ],
        },
      ]),
    ).toHaveLength(1)
  })

  it('seen but failed: a definitely failed send shows up', () => {
    expect(checkSeenButFailed([send('c', 'failed'), poll('g', [[4, 'c']])])).toHaveLength(1)
  })
})

/**
 * The Raft paper's rules, one test each, after etcd-io/raft raft_paper_test.go.
 * Section numbers refer to "In Search of an Understandable Consensus Algorithm" (extended version).
 */
import { describe, expect, it } from 'vitest'
import { bootstrapConfState, MemoryLogStorage, type Message, RawNode } from '../../src/raft/index'
import { drain, entriesWithTerms, entry, makeLeader, message, singleNode, storedLog } from './helpers'
import { bytes, makeConfig, Network, seededRandom } from './network'

function messagesOfType(messages: Message[], type: Message['type']): Message[] {
  return messages.filter((m) => m.type === type)
}

describe('5.1 terms', () => {
  it.each(['follower', 'candidate', 'leader'] as const)(
    '5.1: a %s updates its term from any message with a higher term and becomes follower',
    (role) => {
      const node = singleNode()
      if (role === 'candidate') node.raw.campaign()
      if (role === 'leader') makeLeader(node)
      drain(node)
      node.raw.step(message({ type: 'app', from: 'b', to: 'a', term: 5 }))
      const status = node.raw.status()
      expect(status.term).toBe(5)
      expect(status.role).toBe('follower')
      expect(status.leader).toBe('b')
    },
  )

  it('5.1: a stale-term request is rejected: answered with the current term, log untouched', () => {
    const node = singleNode({ config: { checkQuorum: true } })
    node.raw.step(message({ type: 'heartbeat', from: 'b', to: 'a', term: 3 }))
    drain(node)
    node.raw.step(message({ type: 'app', from: 'c', to: 'a', term: 2, entries: [entry(1, 2)] }))
    const ready = drain(node)
    expect(ready.entries).toEqual([])
    expect(node.raw.status().term).toBe(3)
    expect(node.raw.status().leader).toBe('b')
    expect(ready.messages).toHaveLength(1)
    expect(ready.messages[0]).toMatchObject({ type: 'appResp', to: 'c', term: 3 })
  })
})

describe('5.2 leader election', () => {
  it('5.2: a node starts as a follower at term 0', () => {
    const status = singleNode().raw.status()
    expect(status.role).toBe('follower')
    expect(status.term).toBe(0)
  })

  it('5.2: a leader sends heartbeats to every follower each heartbeat interval', () => {
    const node = singleNode()
    makeLeader(node)
    drain(node)
    node.raw.tick()
    const heartbeats = messagesOfType(drain(node).messages, 'heartbeat')
    expect(heartbeats.map((m) => m.to).sort()).toEqual(['b', 'c'])
    for (const heartbeat of heartbeats) expect(heartbeat.term).toBe(1)
  })

  it('5.2: a follower that hears nothing for an election timeout starts an election', () => {
    const node = singleNode()
    node.raw.tick()
    for (let i = 0; i < 20; i++) node.raw.tick()
    const status = node.raw.status()
    expect(status.role).toBe('candidate')
    expect(status.term).toBe(1)
    expect(status.vote).toBe('a')
    const votes = messagesOfType(drain(node).messages, 'vote')
    expect(votes.map((m) => m.to).sort()).toEqual(['b', 'c'])
    for (const vote of votes) expect(vote).toMatchObject({ term: 1, index: 0, logTerm: 0 })
  })

  it('5.2 (with pre-vote, thesis 9.6): the timeout starts a pre-election that does not bump the term', () => {
    const node = singleNode({ config: { preVote: true } })
    for (let i = 0; i < 20; i++) node.raw.tick()
    expect(node.raw.status()).toMatchObject({ role: 'preCandidate', term: 0 })
    const preVotes = messagesOfType(drain(node).messages, 'preVote')
    expect(preVotes.map((m) => m.term)).toEqual([1, 1])
  })

  const oneRoundCases: Array<[number, Record<string, boolean>, string]> = [
    [1, {}, 'leader'],
    [3, { n2: true, n3: true }, 'leader'],
    [3, { n2: true }, 'leader'],
    [5, { n2: true, n3: true, n4: true, n5: true }, 'leader'],
    [5, { n2: true, n3: true, n4: true }, 'leader'],
    [5, { n2: true, n3: true }, 'leader'],
    [3, { n2: false, n3: false }, 'follower'],
    [5, { n2: false, n3: false, n4: false, n5: false }, 'follower'],
    [5, { n2: true, n3: false, n4: false, n5: false }, 'follower'],
    [3, {}, 'candidate'],
    [5, { n2: true }, 'candidate'],
    [5, { n2: false, n3: false }, 'candidate'],
    [5, {}, 'candidate'],
  ]
  it.each(oneRoundCases)(
    '5.2: election in one round, cluster of %i with votes %j ends as %s',
    (size, votes, expected) => {
      const peers = Array.from({ length: size }, (_, i) => `n${i + 1}`)
      const node = singleNode({ id: 'n1', peers })
      node.raw.campaign()
      for (const [from, granted] of Object.entries(votes)) {
        node.raw.step(message({ type: 'voteResp', from, to: 'n1', term: 1, reject: !granted }))
      }
      expect(node.raw.status().role).toBe(expected)
      expect(node.raw.status().term).toBe(1)
    },
  )

  const voteCases: Array<[string, string, boolean]> = [
    ['', 'b', false],
    ['', 'c', false],
    ['b', 'b', false],
    ['c', 'c', false],
    ['b', 'c', true],
    ['c', 'b', true],
  ]
  it.each(voteCases)(
    '5.2: one vote per term (voted %j, asked by %s, rejected: %s)',
    (voted, asker, rejected) => {
      const node = singleNode({ hardState: { term: 1, vote: voted, commit: 0 } })
      node.raw.step(message({ type: 'vote', from: asker, to: 'a', term: 1 }))
      const responses = messagesOfType(drain(node).messages, 'voteResp')
      expect(responses).toHaveLength(1)
      expect(responses[0]).toMatchObject({ to: asker, term: 1, reject: rejected })
    },
  )

  it.each([1, 2])('5.2: a candidate falls back to follower on an append from a leader of term %i', (term) => {
    const node = singleNode()
    node.raw.campaign()
    expect(node.raw.status()).toMatchObject({ role: 'candidate', term: 1 })
    node.raw.step(message({ type: 'app', from: 'b', to: 'a', term }))
    expect(node.raw.status()).toMatchObject({ role: 'follower', term, leader: 'b' })
  })

  it('5.2: election timeouts are randomized in [electionTicks, 2 * electionTicks)', () => {
    const electionTicks = 10
    const seen = new Set<number>()
    const random = seededRandom(42)
    for (let round = 0; round < 200; round++) {
      const storage = new MemoryLogStorage({ confState: bootstrapConfState(['a', 'b', 'c']) })
      const raw = new RawNode(makeConfig('a', storage, random, { electionTicks, preVote: false }))
      let ticks = 0
      while (raw.status().role === 'follower') {
        raw.tick()
        ticks++
        if (ticks > 100) throw new Error('never campaigned')
      }
      seen.add(ticks)
    }
    for (const ticks of seen) {
      expect(ticks).toBeGreaterThanOrEqual(electionTicks)
      expect(ticks).toBeLessThan(2 * electionTicks)
    }
    // Every value of the range shows up over 200 draws.
    expect(seen.size).toBe(electionTicks)
  })

  it('5.2: randomized timeouts rarely conflict: followers seldom time out in the same tick', () => {
    const random = seededRandom(7)
    const rounds = 500
    let conflicts = 0
    for (let round = 0; round < rounds; round++) {
      const ids = ['a', 'b', 'c', 'd', 'e']
      const nodes = ids.map((id) => {
        const storage = new MemoryLogStorage({ confState: bootstrapConfState(ids) })
        return new RawNode(makeConfig(id, storage, random, { preVote: false }))
      })
      let campaigners = 0
      while (campaigners === 0) {
        for (const node of nodes) node.tick()
        campaigners = nodes.filter((node) => node.status().role === 'candidate').length
      }
      if (campaigners > 1) conflicts++
    }
    expect(conflicts / rounds).toBeLessThan(0.3)
  })
})

describe('5.3 log replication', () => {
  it('5.3: the leader appends a proposal to its log and sends it to every follower', () => {
    const node = singleNode()
    makeLeader(node)
    // Followers acknowledge the leader's empty entry, which moves them from probe to replicate.
    for (const from of ['b', 'c'])
      node.raw.step(message({ type: 'appResp', from, to: 'a', term: 1, index: 1 }))
    drain(node)
    node.raw.propose(bytes('some data'))
    const ready = drain(node)
    expect(ready.entries.map((e) => [e.index, e.term])).toEqual([[2, 1]])
    const appends = messagesOfType(ready.messages, 'app')
    expect(appends.map((m) => m.to).sort()).toEqual(['b', 'c'])
    for (const append of appends) {
      expect(append).toMatchObject({ term: 1, index: 1, logTerm: 1, commit: 1 })
      expect(append.entries.map((e) => e.index)).toEqual([2])
    }
  })

  it('5.3: an entry commits once a majority has it, not before', () => {
    const network = new Network(['a', 'b', 'c', 'd', 'e'])
    network.elect('a')
    network.isolate('c')
    network.isolate('d')
    network.isolate('e')
    network.raw('a').propose(bytes('not yet'))
    network.stabilize()
    const commitBefore = network.raw('a').status().commit
    expect(network.appliedData('a')).toEqual([])
    network.heal()
    network.isolate('d')
    network.isolate('e')
    network.tickAll()
    network.stabilize()
    expect(network.raw('a').status().commit).toBeGreaterThan(commitBefore)
    expect(network.appliedData('a')).toEqual(['not yet'])
  })

  it('5.3: committing an entry commits all preceding entries, including earlier terms', () => {
    const node = singleNode({
      entries: entriesWithTerms([1, 2]),
      hardState: { term: 2, vote: '', commit: 0 },
    })
    makeLeader(node)
    node.raw.propose(bytes('x'))
    drain(node)
    for (const from of ['b', 'c'])
      node.raw.step(message({ type: 'appResp', from, to: 'a', term: 3, index: 4 }))
    const ready = drain(node)
    expect(ready.committedEntries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 3],
    ])
  })

  it("5.3: a follower applies entries up to the leader's commit index, not beyond", () => {
    const node = singleNode()
    const entries = [entry(1, 1, bytes('one')), entry(2, 1, bytes('two'))]
    node.raw.step(message({ type: 'app', from: 'b', to: 'a', term: 1, entries, commit: 1 }))
    const ready = drain(node)
    expect(ready.hardState?.commit).toBe(1)
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1])
  })

  const checkCases: Array<[string, number, number, number, boolean, number]> = [
    ['matches a committed entry', 0, 0, 1, false, 0],
    ['matches committed index 1', 1, 1, 1, false, 0],
    ['matches an uncommitted entry', 2, 2, 2, false, 0],
    ['mismatches the existing entry', 1, 2, 2, true, 1],
    ['has no such entry', 3, 3, 3, true, 2],
  ]
  it.each(checkCases)(
    '5.3: the consistency check: an append that %s (logTerm %i, index %i) is answered with index %i, reject %s, hint %i',
    (_, logTerm, index, wantIndex, wantReject, wantHint) => {
      const node = singleNode({
        entries: entriesWithTerms([1, 2]),
        hardState: { term: 2, vote: '', commit: 1 },
      })
      node.raw.step(message({ type: 'app', from: 'b', to: 'a', term: 2, logTerm, index, commit: 1 }))
      const responses = messagesOfType(drain(node).messages, 'appResp')
      expect(responses).toHaveLength(1)
      expect(responses[0]).toMatchObject({ index: wantIndex, reject: wantReject, rejectHint: wantHint })
    },
  )

  const appendCases: Array<
    [number, number, Array<[number, number]>, Array<[number, number]>, Array<[number, number]>]
  > = [
    [
      2,
      2,
      [[3, 3]],
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      [[3, 3]],
    ],
    [
      1,
      1,
      [
        [2, 3],
        [3, 4],
      ],
      [
        [1, 1],
        [2, 3],
        [3, 4],
      ],
      [
        [2, 3],
        [3, 4],
      ],
    ],
    [
      0,
      0,
      [[1, 1]],
      [
        [1, 1],
        [2, 2],
      ],
      [],
    ],
    [0, 0, [[1, 3]], [[1, 3]], [[1, 3]]],
  ]
  it.each(appendCases)(
    '5.3: an append after (%i, term %i) truncates a conflicting suffix only from the first conflict',
    (index, logTerm, sent, wantLog, wantUnstable) => {
      const node = singleNode({
        entries: entriesWithTerms([1, 2]),
        hardState: { term: 2, vote: '', commit: 0 },
      })
      const entries = sent.map(([i, t]) => entry(i, t))
      node.raw.step(message({ type: 'app', from: 'b', to: 'a', term: 2, logTerm, index, entries }))
      const ready = drain(node)
      expect(ready.entries.map((e) => [e.index, e.term])).toEqual(wantUnstable)
      expect(storedLog(node.storage)).toEqual(wantLog)
    },
  )

  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
  const followerLogs: Array<[string, number[]]> = [
    ['a', [1, 1, 1, 4, 4, 5, 5, 6, 6]],
    ['b', [1, 1, 1, 4]],
    ['c', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
    ['d', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
    ['e', [1, 1, 1, 4, 4, 4, 4]],
    ['f', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
  ]
  it.each(followerLogs)('5.3 Figure 7: follower (%s) converges to the leader log', (_, followerTerms) => {
    const confState = bootstrapConfState(['lead', 'follower', 'silent'])
    const network = new Network([], { config: { preVote: false, checkQuorum: false } })
    const leadStorage = new MemoryLogStorage({ confState, hardState: { term: 8, vote: '', commit: 10 } })
    leadStorage.append(entriesWithTerms(leaderLog))
    const followerStorage = new MemoryLogStorage({ confState, hardState: { term: 7, vote: '', commit: 0 } })
    followerStorage.append(entriesWithTerms(followerTerms))
    network.addNode('lead', leadStorage)
    network.addNode('follower', followerStorage)
    network.raw('lead').campaign()
    // 'silent' is a black hole that grants its vote.
    network.raw('lead').step(message({ type: 'voteResp', from: 'silent', to: 'lead', term: 9 }))
    network.stabilize()
    network.raw('lead').propose(bytes('after'))
    network.stabilize()
    expect(network.raw('lead').status().role).toBe('leader')
    expect(storedLog(followerStorage)).toEqual(storedLog(leadStorage))
    expect(storedLog(leadStorage)).toHaveLength(12)
  })
})

describe('5.4 safety', () => {
  const voterCases: Array<[number[], number, number, boolean]> = [
    [[1], 1, 1, false],
    [[1], 1, 2, false],
    [[1, 1], 1, 1, true],
    [[1], 2, 1, false],
    [[1], 2, 2, false],
    [[1, 1], 2, 1, false],
    [[2], 1, 1, true],
    [[2], 1, 2, true],
    [[2, 1], 1, 1, true],
  ]
  it.each(voterCases)(
    '5.4.1: a voter with log terms %j asked by a candidate with last (term %i, index %i) rejects: %s',
    (terms, logTerm, index, rejected) => {
      const node = singleNode({ entries: entriesWithTerms(terms) })
      node.raw.step(message({ type: 'vote', from: 'b', to: 'a', term: 3, logTerm, index }))
      const responses = messagesOfType(drain(node).messages, 'voteResp')
      expect(responses).toHaveLength(1)
      expect(responses[0]?.reject).toBe(rejected)
    },
  )

  it('5.4.1: vote requests carry the last log term and index', () => {
    const node = singleNode({
      entries: entriesWithTerms([1, 2, 2]),
      hardState: { term: 2, vote: '', commit: 0 },
    })
    node.raw.campaign()
    for (const vote of messagesOfType(drain(node).messages, 'vote')) {
      expect(vote).toMatchObject({ term: 3, logTerm: 2, index: 3 })
    }
  })

  it.each([
    [1, 0],
    [2, 0],
    [3, 3],
  ])(
    '5.4.2 Figure 8: entries of previous terms never commit by counting (ack of index %i commits %i)',
    (ackedIndex, wantCommit) => {
      const node = singleNode({
        entries: entriesWithTerms([1, 2]),
        hardState: { term: 2, vote: '', commit: 0 },
      })
      makeLeader(node)
      node.raw.step(message({ type: 'appResp', from: 'b', to: 'a', term: 3, index: ackedIndex }))
      expect(node.raw.status().commit).toBe(wantCommit)
    },
  )

  it('5.4.2: the commitPreviousTermByCounting fault hook breaks that rule (so checkers can catch it)', () => {
    const node = singleNode({
      entries: entriesWithTerms([1, 2]),
      hardState: { term: 2, vote: '', commit: 0 },
      config: { faults: { commitPreviousTermByCounting: true } },
    })
    makeLeader(node)
    node.raw.step(message({ type: 'appResp', from: 'b', to: 'a', term: 3, index: 2 }))
    expect(node.raw.status().commit).toBe(2)
  })
})

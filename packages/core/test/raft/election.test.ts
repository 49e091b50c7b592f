import { describe, expect, it } from 'vitest'
import { isRaftError, RaftError } from '../../src/raft/index'
import { message } from './helpers'
import { bytes, caught, Network } from './network'

describe('elections', () => {
  it('dueling candidates: the one with the shorter log cannot win, and both settle as followers', () => {
    const network = new Network(['a', 'b', 'c'], { config: { preVote: false, checkQuorum: false } })
    network.cut('a', 'c')
    network.elect('a')
    expect(network.raw('a').status().role).toBe('leader')
    // c cannot reach a, and b already voted for a in term 1.
    network.elect('c')
    expect(network.raw('c').status()).toMatchObject({ role: 'candidate', term: 1 })
    network.heal()
    // c campaigns again in term 2: everyone adopts term 2, but c's log lacks a's entry, so it loses.
    network.elect('c')
    for (const id of ['a', 'b', 'c']) {
      expect(network.raw(id).status()).toMatchObject({ role: 'follower', term: 2 })
    }
  })

  it('check-quorum: a leader that loses contact with a quorum steps down after an election timeout', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('b')
    network.isolate('c')
    // One check-quorum round marks the peers inactive, the next finds no quorum active.
    for (let i = 0; i < 21 && network.raw('a').status().role === 'leader'; i++) {
      network.tick('a')
      network.stabilize()
    }
    expect(network.raw('a').status().role).toBe('follower')
    expect(network.raw('a').status().leader).toBe('')
  })

  it('check-quorum: a leader that hears from a quorum keeps leading', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('c')
    for (let i = 0; i < 50; i++) {
      network.tick('a')
      network.stabilize()
    }
    expect(network.raw('a').status().role).toBe('leader')
  })

  it('pre-vote: a partitioned node rejoins without disrupting the leader or bumping the term', () => {
    const network = new Network(['a', 'b', 'c'], { seed: 3 })
    network.elect('a')
    const term = network.raw('a').status().term
    network.isolate('c')
    for (let i = 0; i < 100; i++) {
      network.tickAll()
      network.stabilize()
    }
    // Pre-elections fail without touching the term.
    expect(network.raw('c').status().term).toBe(term)
    network.heal()
    for (let i = 0; i < 30; i++) {
      network.tickAll()
      network.stabilize()
    }
    expect(network.raw('a').status()).toMatchObject({ role: 'leader', term })
    expect(network.raw('c').status()).toMatchObject({ role: 'follower', term, leader: 'a' })
  })

  it('without pre-vote, the same partitioned node bumps its term (the disruption pre-vote prevents)', () => {
    const network = new Network(['a', 'b', 'c'], { seed: 3, config: { preVote: false, checkQuorum: false } })
    network.elect('a')
    const term = network.raw('a').status().term
    network.isolate('c')
    for (let i = 0; i < 100; i++) {
      network.tickAll()
      network.stabilize()
    }
    expect(network.raw('c').status().term).toBeGreaterThan(term)
  })

  it('check-quorum lease: a follower with a live leader ignores a higher-term vote request', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    const term = network.raw('b').status().term
    network
      .raw('b')
      .step(message({ type: 'vote', from: 'c', to: 'b', term: term + 5, index: 99, logTerm: 99 }))
    expect(network.raw('b').status()).toMatchObject({
      term,
      leader: 'a',
      vote: network.raw('b').status().vote,
    })
    network.processReadies()
    expect(network.pending.filter((m) => m.type === 'voteResp')).toEqual([])
  })

  it('learners never campaign', () => {
    const network = new Network(['a', 'b', 'l'], { learners: ['l'] })
    for (let i = 0; i < 100; i++) network.tick('l')
    network.processReadies()
    expect(network.raw('l').status()).toMatchObject({ role: 'follower', term: 0 })
    expect(network.pending).toEqual([])
  })
})

/** The proposal is refused with a proposalDropped RaftError (the caller learns it was not taken). */
function expectProposalDropped(propose: () => void): void {
  expect(isRaftError(caught(propose), 'proposalDropped')).toBe(true)
}

describe('dropped proposals are thrown, never lost silently', () => {
  it('no leader', () => {
    const network = new Network(['a', 'b', 'c'])
    expectProposalDropped(() => network.raw('a').propose(bytes('x')))
  })

  it('forwarding disabled on a follower', () => {
    const network = new Network(['a', 'b', 'c'], { config: { disableProposalForwarding: true } })
    network.elect('a')
    expectProposalDropped(() => network.raw('b').propose(bytes('x')))
  })

  it('a candidate', () => {
    const network = new Network(['a', 'b', 'c'], { config: { preVote: false } })
    network.raw('a').campaign()
    expectProposalDropped(() => network.raw('a').propose(bytes('x')))
  })

  it('the uncommitted bytes bound is reached', () => {
    const network = new Network(['a', 'b', 'c'], { config: { maxUncommittedEntriesSize: 1000 } })
    network.elect('a')
    network.isolate('b')
    network.isolate('c')
    const leader = network.raw('a')
    leader.propose(new Uint8Array(600))
    const error = caught(() => leader.propose(new Uint8Array(600)))
    expect(error).toBeInstanceOf(RaftError)
    expect((error as RaftError).kind).toBe('proposalDropped')
    // Once the first commits, the bound frees up.
    network.heal()
    network.stabilize()
    leader.propose(new Uint8Array(600))
  })

  it('stepping a local message type is refused', () => {
    const network = new Network(['a', 'b', 'c'])
    const error = caught(() => network.raw('a').step(message({ type: 'hup', from: 'a', to: 'a' })))
    expect(isRaftError(error, 'stepLocalMessage')).toBe(true)
  })

  it('responses from unknown peers are ignored', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    const before = network.raw('a').status()
    network
      .raw('a')
      .step(message({ type: 'appResp', from: 'stranger', to: 'a', term: before.term, index: 50 }))
    expect(network.raw('a').status()).toEqual(before)
  })
})

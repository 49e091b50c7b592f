import { describe, expect, it } from 'vitest'
import { RaftClient, type RaftProcess, Simulation } from '../src/index'

function statuses(sim: Simulation<RaftProcess>) {
  return sim.processes().map(({ process }) => process.status())
}

describe('Simulation public API', () => {
  it('elects a leader, survives a partition, a crash and a restart, and converges', async () => {
    const sim = new Simulation<RaftProcess>({ seed: 42, nodes: 3 })
    const client = new RaftClient(sim, sim.random.fork())
    client.start()
    await sim.runFor(2_000)
    const [leader] = sim.leaders()
    expect(leader).toBeDefined()
    const others = sim.nodeIds.filter((id) => id !== leader)
    sim.partition([leader!], others)
    await sim.runFor(3_000)
    // The majority side elected its own leader.
    expect(sim.leaders().some((id) => others.includes(id))).toBe(true)
    sim.heal()
    sim.crash(others[0]!)
    expect(sim.stateOf(others[0]!)).toBe('down')
    expect(sim.process(others[0]!)).toBeUndefined()
    await sim.runFor(1_000)
    sim.restart(others[0]!)
    await sim.runFor(3_000)
    client.stop()
    await sim.runFor(2_000)
    const all = statuses(sim)
    expect(all).toHaveLength(3)
    expect(new Set(all.map((s) => s.applied)).size).toBe(1)
    expect(all[0]!.applied).toBeGreaterThan(50)
    expect(client.stats.acked).toBeGreaterThan(50)
    const result = sim.check()
    expect(result.violations).toEqual([])
    expect(result.ok).toBe(true)
    expect(sim.history.faults.map((f) => f.description.split(' ')[0])).toEqual([
      'partition',
      'heal',
      'crash',
      'restart',
    ])
  })

  it('pauses a node: it falls behind while frozen and catches up after resume', async () => {
    const sim = new Simulation<RaftProcess>({ seed: 3, nodes: 3 })
    const client = new RaftClient(sim, sim.random.fork())
    client.start()
    await sim.runFor(2_000)
    const follower = sim.nodeIds.find((id) => !sim.leaders().includes(id))!
    sim.pause(follower)
    const frozenAt = sim.process(follower)!.status().applied
    await sim.runFor(2_000)
    expect(sim.process(follower)!.status().applied).toBe(frozenAt)
    sim.resume(follower)
    client.stop()
    await sim.runFor(2_000)
    const applied = statuses(sim).map((s) => s.applied)
    expect(new Set(applied).size).toBe(1)
    expect(applied[0]).toBeGreaterThan(frozenAt)
    expect(sim.check().ok).toBe(true)
  })

  it('a client acknowledgement from a minority leader never happens', async () => {
    const sim = new Simulation<RaftProcess>({ seed: 11, nodes: 5 })
    await sim.runFor(2_000)
    const [leader] = sim.leaders()
    sim.isolate(leader!)
    const outcome = await new Promise<string>((resolve) => {
      sim
        .process(leader!)!
        .proposeText('lonely')
        .then(
          () => resolve('acked'),
          (error: { code?: string }) => resolve(error.code ?? 'error'),
        )
      void sim.runFor(3_000)
    })
    expect(['NOT_LEADER', 'TIMEOUT']).toContain(outcome)
    expect(sim.check().ok).toBe(true)
  })

  it('rejects bad arguments with INVALID_ARGUMENT', () => {
    expect(() => new Simulation({ seed: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => new Simulation({ seed: 1, nodes: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    const sim = new Simulation({ seed: 1 })
    expect(() => sim.crash('n9')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})

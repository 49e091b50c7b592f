import { describe, expect, it } from 'vitest'
import { describeFaultSettings, runLaminarSeed } from '../src/index'

/**
 * Real LaminarNodes in the simulator: a producer and a consumer group under seeded faults
 * (partitions, clogging, crashes, pauses, delay, skew), then healing, then the queue checkers.
 * Every 4th seed adds membership churn: a 4th node joins at run time, partitions move between
 * members and one node is removed, all under the same faults. Every 4th seed from seed 2 moves
 * partitions off one of their nodes and back onto it (a new replica id beside a group that knew
 * the old one), one round trip after another.
 * CI sweeps 200 seeds of 2 simulated seconds; `LAMINAR_SIM_SEEDS` runs more (nightly).
 */
const seeds = Number(process.env.LAMINAR_SIM_SEEDS ?? 200)
const simSeconds = Number(process.env.LAMINAR_SIM_SECONDS ?? 2)

describe('LaminarNode simulation', () => {
  it(`${seeds} seeds: nothing acknowledged is lost, duplicated or left unconsumed`, {
    timeout: 300_000,
  }, async () => {
    const failures: string[] = []
    let acked = 0
    let redelivered = 0
    let moves = 0
    let removals = 0
    let roundTrips = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const result = await runLaminarSeed({ seed, simSeconds })
      acked += result.acked
      redelivered += result.redelivered
      moves += result.moves
      removals += result.removals
      roundTrips += result.roundTrips
      if (!result.ok) {
        failures.push(
          `seed ${seed} (${describeFaultSettings(result.settings)}): ${result.violations
            .slice(0, 3)
            .map((v) => `[${v.checker}] ${v.message}`)
            .join('; ')} -- replay: ${result.replayCommand}`,
        )
      }
    }
    console.log(
      `laminar sim: ${seeds} seeds, ${acked} acknowledged, ${redelivered} redelivered, ${moves} partition moves, ${removals} node removals, ${roundTrips} round trips`,
    )
    expect(failures).toEqual([])
    expect(acked).toBeGreaterThan(seeds * 10)
    // Every 4th seed runs membership churn (a node joins, partitions move, a node is removed).
    if (seeds >= 4) expect(moves).toBeGreaterThan(0)
    // Round trips complete in a few of the 2-second runs (5 or 6 of 50 at 200 seeds): not vacuous.
    if (seeds >= 200) expect(roundTrips).toBeGreaterThan(0)
  })

  it('replays a seed to the same trace', async () => {
    const first = await runLaminarSeed({ seed: 8, simSeconds: 2 })
    const second = await runLaminarSeed({ seed: 8, simSeconds: 2 })
    expect(second.traceHash).toBe(first.traceHash)
    expect(second.acked).toBe(first.acked)
  })
})

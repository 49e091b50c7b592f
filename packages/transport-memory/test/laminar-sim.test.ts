import { describe, expect, it } from 'vitest'
import { describeFaultSettings, runLaminarSeed } from '../src/index'

/**
 * Real LaminarNodes in the simulator: a producer and a consumer group under seeded faults
 * (partitions, clogging, crashes, pauses, delay, skew), then healing, then the queue checkers.
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
    for (let seed = 1; seed <= seeds; seed++) {
      const result = await runLaminarSeed({ seed, simSeconds })
      acked += result.acked
      redelivered += result.redelivered
      if (!result.ok) {
        failures.push(
          `seed ${seed} (${describeFaultSettings(result.settings)}): ${result.violations
            .slice(0, 3)
            .map((v) => `[${v.checker}] ${v.message}`)
            .join('; ')} -- replay: ${result.replayCommand}`,
        )
      }
    }
    console.log(`laminar sim: ${seeds} seeds, ${acked} acknowledged, ${redelivered} redelivered`)
    expect(failures).toEqual([])
    expect(acked).toBeGreaterThan(seeds * 10)
  })

  it('replays a seed to the same trace', async () => {
    const first = await runLaminarSeed({ seed: 8, simSeconds: 2 })
    const second = await runLaminarSeed({ seed: 8, simSeconds: 2 })
    expect(second.traceHash).toBe(first.traceHash)
    expect(second.acked).toBe(first.acked)
  })
})

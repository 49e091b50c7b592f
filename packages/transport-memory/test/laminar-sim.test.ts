import { describe, expect, it } from 'vitest'
import { describeFaultSettings, runLaminarSeed } from '../src/index'

/**
 * Real LaminarNodes in the simulator: a producer and a consumer group under seeded faults,
 * then the queue checkers. The broker's own suite runs the 200-seed sweep; this keeps the
 * harness honest with a few seeds (`LAMINAR_SIM_SEEDS` runs more).
 */
const seeds = Number(process.env.LAMINAR_SIM_SEEDS ?? 6)

describe('LaminarNode simulation', () => {
  it(`${seeds} seeds: nothing acknowledged is lost, duplicated or left unconsumed`, {
    timeout: 300_000,
  }, async () => {
    const failures: string[] = []
    let acked = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const result = await runLaminarSeed({ seed, simSeconds: 3 })
      acked += result.acked
      if (!result.ok) {
        failures.push(
          `seed ${seed} (${describeFaultSettings(result.settings)}): ${result.violations
            .slice(0, 3)
            .map((v) => `[${v.checker}] ${v.message}`)
            .join('; ')} -- replay: ${result.replayCommand}`,
        )
      }
    }
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

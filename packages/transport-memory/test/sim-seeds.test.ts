import { describe, expect, it } from 'vitest'
import { describeFaultSettings, runSeed } from '../src/index'

/**
 * The simulator over many seeds with every fault family drawn per seed. CI runs 200 short
 * seeds; `SIM_SEEDS=5000 SIM_SECONDS=10` makes a nightly run.
 */
const seeds = Number(process.env.SIM_SEEDS ?? 200)
const simSeconds = Number(process.env.SIM_SECONDS ?? 2)
const firstSeed = Number(process.env.SIM_FIRST_SEED ?? 1)

describe(`simulator: ${seeds} seeds of ${simSeconds} simulated seconds`, () => {
  it('finds no violation and always converges after healing', { timeout: 600_000 }, async () => {
    const failures: string[] = []
    let acked = 0
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      const result = await runSeed({ seed, simSeconds })
      acked += result.client.acked
      if (!result.ok) {
        failures.push(
          `seed ${seed} (${describeFaultSettings(result.settings)}): ` +
            `${result.violations
              .slice(0, 3)
              .map((v) => `[${v.checker}] ${v.message}`)
              .join('; ')} -- replay: ${result.replayCommand}`,
        )
      }
    }
    expect(failures).toEqual([])
    // The runs did work: clients got answers.
    expect(acked).toBeGreaterThan(seeds)
  })
})

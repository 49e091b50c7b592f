/**
 * The simulator's command line (`pnpm sim`):
 *
 *   pnpm sim --seeds N [--start S] [--seed S] [--sim-seconds T] [--nodes K] [--faults a,b,...]
 *            [--raft-fault commitPreviousTermByCounting|forgetVote|sendBeforePersist|skipSync]
 *            [--workload raft|laminar] [--verbose]
 *
 * Each failing seed prints its fault settings, its violations and the one command replaying
 * it; the last line is `N passed, M failed`; the exit code is non-zero on any violation.
 */
import { describeFaultSettings, type FaultKind, parseFaultKinds } from '../sim/fault-plan'
import { runLaminarSeed } from '../sim/laminar/run-laminar-seed'
import { runSeed, type SeedRunOptions } from '../sim/run-seed'

interface CliOptions {
  seeds: number[]
  simSeconds: number
  nodes: number
  faults: FaultKind[] | undefined
  raftFault: string | undefined
  workload: 'raft' | 'laminar'
  verbose: boolean
}

const RAFT_FAULTS = ['commitPreviousTermByCounting', 'forgetVote', 'sendBeforePersist', 'skipSync'] as const

function parse(argv: readonly string[]): CliOptions {
  const values = new Map<string, string>()
  let verbose = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') continue
    if (arg === '--verbose') {
      verbose = true
      continue
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`)
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`${arg} needs a value`)
    values.set(arg.slice(2), value)
    i++
  }
  for (const name of values.keys()) {
    if (
      !['seeds', 'start', 'seed', 'sim-seconds', 'nodes', 'faults', 'raft-fault', 'workload'].includes(name)
    ) {
      throw new Error(`unknown option --${name}`)
    }
  }
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = values.get(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}`)
    return value
  }
  const seeds: number[] = []
  if (values.has('seed')) seeds.push(integer('seed', 0, 0))
  else {
    const count = integer('seeds', 100, 1)
    const start = integer('start', 1, 0)
    for (let i = 0; i < count; i++) seeds.push(start + i)
  }
  const raftFault = values.get('raft-fault')
  if (raftFault !== undefined && !(RAFT_FAULTS as readonly string[]).includes(raftFault)) {
    throw new Error(`--raft-fault must be one of ${RAFT_FAULTS.join(', ')}`)
  }
  const simSecondsRaw = values.get('sim-seconds')
  const simSeconds = simSecondsRaw === undefined ? 5 : Number(simSecondsRaw)
  if (!(simSeconds > 0)) throw new Error('--sim-seconds must be a positive number')
  const faultsRaw = values.get('faults')
  const workload = values.get('workload') ?? 'raft'
  if (workload !== 'raft' && workload !== 'laminar') throw new Error('--workload must be raft or laminar')
  if (workload === 'laminar' && (raftFault !== undefined || values.has('nodes'))) {
    throw new Error('--raft-fault and --nodes apply to the raft workload only')
  }
  return {
    workload,
    seeds,
    simSeconds,
    nodes: integer('nodes', 3, 1),
    faults: faultsRaw === undefined ? undefined : parseFaultKinds(faultsRaw),
    raftFault,
    verbose,
  }
}

async function main(): Promise<number> {
  let options: CliOptions
  try {
    options = parse(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`sim: ${(error as Error).message}\n`)
    return 2
  }
  // A promise rejected with nobody listening is a bug in the code under test, not a crash of
  // the runner: it fails the seed that was running.
  const unhandled: string[] = []
  process.on('unhandledRejection', (reason) => {
    unhandled.push(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason))
  })
  let passed = 0
  let failed = 0
  const started = performance.now()
  let simMsTotal = 0
  for (const seed of options.seeds) {
    const run: SeedRunOptions = {
      seed,
      simSeconds: options.simSeconds,
      nodes: options.nodes,
      faults: options.faults,
    }
    if (options.raftFault === 'commitPreviousTermByCounting')
      run.raftFaults = { commitPreviousTermByCounting: true }
    if (options.raftFault === 'forgetVote') run.raftFaults = { forgetVote: true }
    if (options.raftFault === 'sendBeforePersist' || options.raftFault === 'skipSync') {
      run.hostFault = options.raftFault
    }
    const result =
      options.workload === 'laminar'
        ? await runLaminarSeed({ seed, simSeconds: options.simSeconds, faults: options.faults })
        : await runSeed(run)
    simMsTotal += result.simMs
    await new Promise((resolve) => setImmediate(resolve))
    for (const reason of unhandled.splice(0)) {
      result.ok = false
      result.violations.push({
        checker: 'unhandled-rejection',
        message: reason.split('\n').slice(0, 3).join(' | '),
      })
    }
    if (result.ok) {
      passed++
      if (options.verbose) {
        process.stdout.write(
          `seed ${seed} ok  trace=${result.traceHash} ${describeFaultSettings(result.settings)}\n`,
        )
      }
      continue
    }
    failed++
    process.stdout.write(`\nFAIL seed ${seed}\n  settings: ${describeFaultSettings(result.settings)}\n`)
    if (options.raftFault !== undefined) process.stdout.write(`  broken rule: ${options.raftFault}\n`)
    for (const violation of result.violations.slice(0, 10)) {
      const at = violation.atMs === undefined ? '' : ` @${violation.atMs}ms`
      process.stdout.write(`  [${violation.checker}]${at} ${violation.message}\n`)
    }
    if (result.violations.length > 10) process.stdout.write(`  ... ${result.violations.length - 10} more\n`)
    const replay =
      result.replayCommand + (options.raftFault === undefined ? '' : ` --raft-fault ${options.raftFault}`)
    process.stdout.write(`  replay: ${replay}\n`)
  }
  const wallSeconds = (performance.now() - started) / 1_000
  process.stdout.write(
    `simulated ${(simMsTotal / 1_000).toFixed(1)} s in ${wallSeconds.toFixed(1)} s wall ` +
      `(${(simMsTotal / 1_000 / wallSeconds).toFixed(0)}x)\n`,
  )
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  return failed === 0 ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`sim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 2
  },
)

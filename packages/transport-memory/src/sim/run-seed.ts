import type { RaftFaults } from '@laminar-ts/core'
import type { Violation } from './checkers/violation'
import {
  describeFaultSettings,
  FAULT_KINDS,
  type FaultKind,
  type FaultSettings,
  randomFaultSettings,
} from './fault-plan'
import { CALM_LINKS } from './link-faults'
import { Nemesis } from './nemesis'
import { Prng } from './prng'
import { RaftClient, type RaftClientStats } from './raft/raft-client'
import { type RaftHostFault, type RaftProcess, raftProcessFactory } from './raft/raft-process'
import { Simulation } from './simulation'

export interface SeedRunOptions {
  seed: number
  /** Cluster size; default 3. */
  nodes?: number
  /** Length of the safety phase (faults on), in simulated seconds; default 5. */
  simSeconds?: number
  /** Bound on the liveness phase (faults healed) in simulated ms; default 10 000. */
  livenessTimeoutMs?: number
  /** Fault families the seed may draw from; default all. */
  faults?: readonly FaultKind[]
  /** Test-only: run the cluster with a broken Raft rule. */
  raftFaults?: RaftFaults
  /** Test-only: run the cluster with a broken host rule. */
  hostFault?: RaftHostFault
  /** Where the Raft processes keep their log; default core's SegmentedLog. */
  logBackend?: 'segmented' | 'simple'
  /** Record every node's log for log matching this often (simulated ms); default 250. */
  logCheckIntervalMs?: number
  /** Test-only: fixed values for some of the settings otherwise drawn from the seed. */
  settings?: Partial<Omit<FaultSettings, 'enabled' | 'links'>>
}

export interface SeedRunResult {
  seed: number
  ok: boolean
  violations: Violation[]
  settings: FaultSettings
  traceHash: string
  client: RaftClientStats
  /** Simulated time the run took, safety and liveness phases together. */
  simMs: number
  events: number
  /** The one command that replays this run. */
  replayCommand: string
}

/**
 * One VOPR-style run of a Raft cluster: fault settings drawn from the seed, a safety phase with
 * a client proposing and the nemesis injecting faults, then a liveness phase with every fault
 * healed in which the cluster must converge (a fresh proposal acknowledged, every node applied
 * the same log) within a bound. Then every checker runs over the recorded history.
 */
export async function runSeed(options: SeedRunOptions): Promise<SeedRunResult> {
  const simSeconds = options.simSeconds ?? 5
  const livenessTimeoutMs = options.livenessTimeoutMs ?? 10_000
  const logCheckIntervalMs = options.logCheckIntervalMs ?? 250
  const allowed = options.faults ?? FAULT_KINDS
  // The settings come from their own stream so they do not depend on how the run consumes randomness.
  const settings = {
    ...randomFaultSettings(new Prng(options.seed ^ 0x5eed_f00d), allowed),
    ...options.settings,
  }
  const sim = new Simulation<RaftProcess>({
    seed: options.seed,
    nodes: options.nodes ?? 3,
    links: settings.links,
    process: raftProcessFactory({
      raftFaults: options.raftFaults,
      hostFault: options.hostFault,
      maxSizePerMsg: settings.maxSizePerMsg,
      tickIntervalMs: settings.tickIntervalMs,
      logBackend: options.logBackend ?? 'segmented',
    }),
  })
  sim.trace(`settings ${describeFaultSettings(settings)}`)
  const client = new RaftClient(sim, sim.random.fork())
  const nemesis = new Nemesis(sim, settings, sim.random.fork())
  client.start()
  nemesis.start()

  // Safety phase.
  for (let elapsedMs = 0; elapsedMs < simSeconds * 1_000; elapsedMs += logCheckIntervalMs) {
    await sim.runFor(Math.min(logCheckIntervalMs, simSeconds * 1_000 - elapsedMs))
    sim.recordLogs()
  }

  // Liveness phase: everything healed, every node back.
  nemesis.stop()
  client.stop()
  sim.heal()
  sim.setLinkFaults(CALM_LINKS)
  for (const id of sim.nodeIds) {
    sim.resume(id)
    sim.restart(id)
  }
  const violations: Violation[] = []
  const livenessStartMs = sim.nowMs
  const converged = await converge(sim, client, livenessTimeoutMs)
  if (!converged) {
    const statuses = sim
      .processes()
      .map(({ process }) => JSON.stringify(process.status()))
      .join(' ')
    violations.push({
      checker: 'liveness',
      message: `no convergence within ${livenessTimeoutMs} ms after healing: ${statuses}`,
      atMs: livenessStartMs,
    })
  }
  violations.push(...sim.check().violations)
  const faultList = options.faults === undefined ? '' : ` --faults ${options.faults.join(',')}`
  return {
    seed: options.seed,
    ok: violations.length === 0,
    violations,
    settings,
    traceHash: sim.traceHash(),
    client: client.stats,
    simMs: sim.nowMs,
    events: sim.eventsRun,
    replayCommand:
      `pnpm sim --seed ${options.seed} --sim-seconds ${simSeconds}` +
      (options.nodes !== undefined && options.nodes !== 3 ? ` --nodes ${options.nodes}` : '') +
      faultList,
  }
}

/**
 * Liveness: within `timeoutMs`, a fresh proposal is acknowledged and then every node has
 * applied its whole log and every log is identical.
 */
async function converge(
  sim: Simulation<RaftProcess>,
  client: RaftClient,
  timeoutMs: number,
): Promise<boolean> {
  const deadlineMs = sim.nowMs + timeoutMs
  let acked = false
  while (!acked && sim.nowMs < deadlineMs) {
    void client.proposeOnce().then((ok) => {
      if (ok) acked = true
    })
    await sim.runUntil(() => acked, Math.min(200, deadlineMs - sim.nowMs))
  }
  if (!acked) return false
  const identical = (): boolean => {
    const processes = sim.processes()
    if (processes.length !== sim.nodeIds.length) return false
    const first = processes[0]!.process.status()
    for (const { process } of processes) {
      const status = process.status()
      if (status.applied !== status.lastIndex || status.lastIndex !== first.lastIndex) return false
    }
    const logs = processes.map(({ process }) => process.logSnapshot())
    if (logs.some((log) => log === undefined)) return false
    const reference = JSON.stringify(logs[0])
    return logs.every((log) => JSON.stringify(log) === reference)
  }
  // Polled on a coarse grid: comparing whole logs after every event would dominate the run.
  while (sim.nowMs < deadlineMs) {
    if (identical()) return true
    await sim.runFor(Math.min(50, deadlineMs - sim.nowMs))
  }
  return identical()
}

import type { Violation } from '../checkers/violation'
import { describeFaultSettings, type FaultKind, type FaultSettings, randomFaultSettings } from '../fault-plan'
import { CALM_LINKS } from '../link-faults'
import { Nemesis } from '../nemesis'
import { Prng } from '../prng'
import { Simulation } from '../simulation'
import { laminarProcessFactory } from './laminar-process'
import { LaminarWorkload } from './laminar-workload'
import { MembershipChurn } from './membership-churn'

/**
 * The faults a LaminarNode cluster is run under by default. Nodes talk over connections with
 * TCP's guarantees, so per-frame drop, duplicate and reorder (which TCP never shows an
 * application) are left to the Raft-level runs; cuts, crashes, pauses, delay and skew apply.
 */
export const LAMINAR_FAULT_KINDS: readonly FaultKind[] = [
  'delay',
  'partition',
  'clog',
  'crash',
  'pause',
  'skew',
]

export interface LaminarSeedRunOptions {
  seed: number
  /** Safety phase length in simulated seconds; default 5. */
  simSeconds?: number
  /** Bound on the liveness phase in simulated ms; default 30 000. */
  livenessTimeoutMs?: number
  faults?: readonly FaultKind[]
  /**
   * Membership under faults: a 4th node joins the 3 founders at run time, partitions are moved
   * between members throughout, and one node is removed. Default: every 4th seed.
   */
  membership?: boolean
  /**
   * Round trips under faults: a 4th node joins, and partitions are moved off one of their nodes
   * and back onto it, one after another. Default: every 4th seed, offset by 2 from membership.
   */
  roundTrips?: boolean
}

export interface LaminarSeedRunResult {
  seed: number
  ok: boolean
  violations: Violation[]
  settings: FaultSettings
  traceHash: string
  acked: number
  consumed: number
  /** Deliveries beyond the first of each message (at-least-once at work under faults). */
  redelivered: number
  /** Partition moves the controller accepted, and node removals (membership runs only). */
  moves: number
  removals: number
  /** Partitions moved off a node and back onto it (round-trip runs only). */
  roundTrips: number
  simMs: number
  replayCommand: string
}

/**
 * One run of a 3-node LaminarNode cluster: a producer and a consumer group under seeded
 * faults, then healing, then the queue checkers (lost, duplicate, inconsistent offsets,
 * unseen, poll order, seen-but-failed) over the recorded produce/consume history.
 */
export async function runLaminarSeed(options: LaminarSeedRunOptions): Promise<LaminarSeedRunResult> {
  const simSeconds = options.simSeconds ?? 5
  const livenessTimeoutMs = options.livenessTimeoutMs ?? 30_000
  const settings = randomFaultSettings(
    new Prng(options.seed ^ 0x5eed_f00d),
    options.faults ?? LAMINAR_FAULT_KINDS,
  )
  const membership = options.membership ?? options.seed % 4 === 0
  const roundTrips = !membership && (options.roundTrips ?? options.seed % 4 === 2)
  const joiner = membership || roundTrips
  const sim = new Simulation({
    seed: options.seed,
    nodes: joiner ? 4 : 3,
    links: settings.links,
    process: laminarProcessFactory({}, joiner ? 'n4' : undefined),
  })
  sim.trace(`settings ${describeFaultSettings(settings)}`)
  const violations: Violation[] = []
  const workload = new LaminarWorkload(sim)
  const churn = membership
    ? new MembershipChurn(sim, sim.random.fork(), {
        topic: workload.topic,
        partitions: workload.partitions,
        replicationFactor: 3,
        removeAfterOperations: 3,
      })
    : roundTrips
      ? new MembershipChurn(sim, sim.random.fork(), {
          topic: workload.topic,
          partitions: workload.partitions,
          replicationFactor: 3,
          pattern: 'round trip',
        })
      : undefined
  const replayCommand =
    `pnpm sim --workload laminar --seed ${options.seed} --sim-seconds ${simSeconds}` +
    (options.faults === undefined ? '' : ` --faults ${options.faults.join(',')}`)
  if (!(await workload.setUp(20_000))) {
    violations.push({ checker: 'liveness', message: 'the calm cluster never accepted a client and a topic' })
  } else {
    const nemesis = new Nemesis(sim, settings, sim.random.fork())
    workload.startSending()
    churn?.start()
    nemesis.start()
    await sim.runFor(simSeconds * 1_000)
    nemesis.stop()
    churn?.stop()
    workload.stopSending()
    sim.heal()
    sim.setLinkFaults(CALM_LINKS)
    for (const id of sim.nodeIds) {
      sim.resume(id)
      sim.restart(id)
    }
    const deadlineMs = sim.nowMs + livenessTimeoutMs
    // Liveness: a fresh send is acknowledged, then the group catches up on everything acknowledged.
    let fresh = false
    while (!fresh && sim.nowMs < deadlineMs) {
      void workload.sendOnce().then((ok) => {
        if (ok) fresh = true
      })
      await sim.runUntil(() => fresh, Math.min(500, deadlineMs - sim.nowMs))
    }
    const caughtUp = fresh && (await sim.runUntil(() => workload.caughtUp(), deadlineMs - sim.nowMs))
    if (!caughtUp) {
      violations.push({
        checker: 'liveness',
        message: `after healing: fresh send acknowledged=${fresh}, consumed ${workload.consumed.size} of ${workload.acked.size} acknowledged within ${livenessTimeoutMs} ms`,
      })
    } else {
      let done = false
      let readError: unknown
      workload.finalRead().then(
        () => {
          done = true
        },
        (error: unknown) => {
          readError = error
          done = true
        },
      )
      await sim.runUntil(() => done, 10_000)
      if (readError !== undefined || !done) {
        violations.push({
          checker: 'liveness',
          message: `final read failed: ${String(readError ?? 'timed out')}`,
        })
      }
    }
  }
  violations.push(...sim.check().violations)
  return {
    seed: options.seed,
    ok: violations.length === 0,
    violations,
    settings,
    traceHash: sim.traceHash(),
    acked: workload.acked.size,
    consumed: workload.consumed.size,
    redelivered: workload.deliveries - workload.consumed.size,
    moves: churn?.moves ?? 0,
    removals: churn?.removals ?? 0,
    roundTrips: churn?.roundTrips ?? 0,
    simMs: sim.nowMs,
    replayCommand,
  }
}

import { CALM_LINKS, type LinkFaultSettings } from './link-faults'
import type { Prng } from './prng'

/** The fault families a run may enable (`--faults` takes a comma list of these). */
export const FAULT_KINDS = [
  'drop',
  'duplicate',
  'reorder',
  'delay',
  'partition',
  'clog',
  'crash',
  'pause',
  'skew',
] as const

export type FaultKind = (typeof FAULT_KINDS)[number]

/** One run's fault settings, drawn from its seed and printed with it (as TigerBeetle's VOPR does). */
export interface FaultSettings {
  enabled: FaultKind[]
  links: LinkFaultSettings
  /** Time between two nemesis actions. */
  nemesisIntervalMsMin: number
  nemesisIntervalMsMax: number
  /** How long a partition, clog, pause or crash lasts before it is undone. */
  faultDurationMsMin: number
  faultDurationMsMax: number
  /** Raft's bytes per append message: small values split catch-up appends across messages. */
  maxSizePerMsg: number
  /** Raft tick period: election timeouts are 10 to 20 ticks. */
  tickIntervalMs: number
  /** Chance a new leader is crashed or isolated within milliseconds (needs partition or crash on). */
  leaderChurnRate: number
}

/** Parse a `--faults` list; throws on an unknown name. */
export function parseFaultKinds(list: string): FaultKind[] {
  const kinds = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0)
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`unknown fault '${kind}'; known: ${FAULT_KINDS.join(', ')}`)
    }
  }
  return kinds as FaultKind[]
}

/**
 * Draw a run's fault settings: each allowed family is on with probability 1/2 (at least one),
 * with its own rates and durations.
 */
export function randomFaultSettings(
  random: Prng,
  allowed: readonly FaultKind[] = FAULT_KINDS,
): FaultSettings {
  let enabled = allowed.filter(() => random.chance(0.5))
  if (enabled.length === 0 && allowed.length > 0) enabled = [random.pick(allowed)]
  const on = (kind: FaultKind): boolean => enabled.includes(kind)
  const links: LinkFaultSettings = {
    ...CALM_LINKS,
    delayMsMax: on('delay') ? random.between(5, 60) : CALM_LINKS.delayMsMax,
    dropRate: on('drop') ? round(random.next() * 0.3) : 0,
    duplicateRate: on('duplicate') ? round(random.next() * 0.1) : 0,
    reorderRate: on('reorder') ? round(random.next() * 0.3) : 0,
  }
  // A third of the seeds are storms: faults every few tens of ms, each short-lived.
  const storm = random.chance(1 / 3)
  const nemesisIntervalMsMin = storm ? random.between(10, 60) : random.between(50, 400)
  const faultDurationMsMin = storm ? random.between(10, 100) : random.between(50, 500)
  return {
    enabled,
    links,
    nemesisIntervalMsMin,
    nemesisIntervalMsMax: nemesisIntervalMsMin + (storm ? random.between(0, 200) : random.between(0, 1_000)),
    faultDurationMsMin,
    faultDurationMsMax: faultDurationMsMin + (storm ? random.between(0, 400) : random.between(0, 2_000)),
    tickIntervalMs: random.pick([10, 20, 50]),
    leaderChurnRate: on('partition') || on('crash') ? random.pick([0, 0.3, 0.6]) : 0,
    maxSizePerMsg: random.pick([1, 16, 256, 1024 * 1024]),
  }
}

/** One line for reports. */
export function describeFaultSettings(settings: FaultSettings): string {
  const l = settings.links
  return (
    `faults=${settings.enabled.join(',') || 'none'} drop=${l.dropRate} dup=${l.duplicateRate} ` +
    `reorder=${l.reorderRate} delay=${l.delayMsMin}-${l.delayMsMax}ms ` +
    `nemesisEvery=${settings.nemesisIntervalMsMin}-${settings.nemesisIntervalMsMax}ms ` +
    `faultFor=${settings.faultDurationMsMin}-${settings.faultDurationMsMax}ms maxSizePerMsg=${settings.maxSizePerMsg} tick=${settings.tickIntervalMs}ms churn=${settings.leaderChurnRate}`
  )
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}

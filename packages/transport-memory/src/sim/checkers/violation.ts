import type { SimHistory } from '../history'

/** One broken property found in a history. */
export interface Violation {
  /** The checker that found it, e.g. 'election-safety'. */
  checker: string
  message: string
  /** Virtual time of the offending event, when one event is to blame. */
  atMs?: number
}

/** A pure function from a recorded history to the violations in it. */
export type Checker = (history: SimHistory) => Violation[]

/** Violations reported per checker, so one broken rule cannot flood a report. */
export const VIOLATIONS_PER_CHECKER_MAX = 20

/** RaftConfig defaults and validation. */
import { RaftError } from './errors'
import { NONE, type RaftConfig } from './types'

/** Defaults for the optional RaftConfig fields (see docs/raft.md). */
export const RAFT_DEFAULTS = {
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxCommittedSizePerReady: 16 * 1024 * 1024,
  maxUncommittedEntriesSize: 0,
  checkQuorum: true,
  preVote: true,
} as const

/** Throws RaftError('invalidConfig') for a configuration Raft cannot run with. */
export function validateConfig(config: RaftConfig): void {
  const fail = (message: string): never => {
    throw new RaftError('invalidConfig', message)
  }
  if (config.id === NONE) fail('id must not be empty')
  if (!Number.isInteger(config.heartbeatTicks) || config.heartbeatTicks <= 0)
    fail('heartbeatTicks must be > 0')
  if (!Number.isInteger(config.electionTicks) || config.electionTicks <= config.heartbeatTicks) {
    fail('electionTicks must be an integer greater than heartbeatTicks')
  }
  if (config.maxInflightMsgs !== undefined && config.maxInflightMsgs <= 0) fail('maxInflightMsgs must be > 0')
  if (config.maxSizePerMsg !== undefined && config.maxSizePerMsg < 0) fail('maxSizePerMsg must be >= 0')
  if (typeof config.random !== 'function') fail('random must be a function')
}

import { LaminarError } from '../errors/laminar-error'
import type { ClusterMember, ControllerCommand, ControllerResult, TopicMetadata } from './commands'

/** Stub: implemented in the next commit. */
export class ControllerStateMachine {
  get version(): number {
    throw notYet()
  }
  get appliedIndex(): number {
    throw notYet()
  }
  apply(_index: number, _command: ControllerCommand): ControllerResult {
    throw notYet()
  }
  applyEntry(_index: number, _data: Uint8Array): ControllerResult | undefined {
    throw notYet()
  }
  members(): ClusterMember[] {
    throw notYet()
  }
  topics(): TopicMetadata[] {
    throw notYet()
  }
  topic(_name: string): TopicMetadata | undefined {
    throw notYet()
  }
  snapshot(): Uint8Array {
    throw notYet()
  }
  restore(_bytes: Uint8Array): void {
    throw notYet()
  }
}

function notYet(): LaminarError {
  return new LaminarError('INTERNAL', 'not implemented yet')
}

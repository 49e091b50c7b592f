import { describe, expect, it } from 'vitest'
import { isLaminarError, LaminarError } from '../src/index'

describe('LaminarError', () => {
  it('carries a stable code, a leader hint and a cause', () => {
    const cause = new Error('socket reset')
    const error = new LaminarError('NOT_LEADER', 'not the leader', { leaderHint: 'n2', cause })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('LaminarError')
    expect(error.code).toBe('NOT_LEADER')
    expect(error.leaderHint).toBe('n2')
    expect(error.cause).toBe(cause)
  })

  it('is recognised by code', () => {
    const error = new LaminarError('TIMEOUT', 'timed out')
    expect(isLaminarError(error)).toBe(true)
    expect(isLaminarError(error, 'TIMEOUT')).toBe(true)
    expect(isLaminarError(error, 'NOT_LEADER')).toBe(false)
    expect(isLaminarError(new Error('x'))).toBe(false)
  })
})

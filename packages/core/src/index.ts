export type { LaminarErrorCode, LaminarErrorOptions } from './errors/laminar-error'
export { isLaminarError, LaminarError } from './errors/laminar-error'
export * from './ports/index'

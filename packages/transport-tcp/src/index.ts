/**
 * @laminar-ts/transport-tcp: not built yet; see the open issues. This entry exists so the package
 * builds, type-checks and publishes in the workspace from day one.
 */
export const packageName = '@laminar-ts/transport-tcp'

/**
 * `nestjs-fief/testing`: an embedded Fief-compatible server for samples and e2e tests.
 * Needs the optional peer dependency `oidc-provider`.
 */

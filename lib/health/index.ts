/**
 * `nestjs-fief/health`: the `@nestjs/terminus` health indicator. A sub-path of its own, so that the
 * main entry neither loads nor declares the optional peer `@nestjs/terminus`.
 */
export { FiefHealthIndicator, type FiefHealthCheckOptions } from './fief-health.indicator.js';

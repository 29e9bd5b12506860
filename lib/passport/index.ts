/**
 * `nestjs-fief/passport`: the passport strategy `'fief'` as a value, to register or subclass. It
 * needs `@nestjs/passport` and `passport` (optional peers of the main entry, which never loads this).
 *
 * @example
 * import { FiefStrategy } from 'nestjs-fief/passport';
 * \@Injectable() class AuditedFiefStrategy extends FiefStrategy {
 *   override async validate(request: any) { const info = await super.validate(request); audit(info.id); return info; }
 * }
 */
export { FiefStrategy } from '../auth/fief.strategy.js';
export { FiefBearerStrategy, type FiefBearerVerify } from '../auth/fief-bearer.strategy.js';

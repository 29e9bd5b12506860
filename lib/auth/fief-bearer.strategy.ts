import passport from 'passport';

/** Signature of the verify callback the passport mixin gives {@link FiefBearerStrategy}. */
export type FiefBearerVerify = (request: any, done: (error: unknown, user?: unknown) => void) => void;

/**
 * A minimal passport strategy: hands the whole request to its verify callback, which extracts and
 * checks the token (the same code as `FiefAuthGuard`). Written here rather than taken from
 * `passport-http-bearer` so the refusals match the guard's exactly.
 */
export class FiefBearerStrategy extends passport.Strategy {
  /** Passport's default name; `FiefStrategy` registers itself as `'fief'`. */
  override name = 'fief-bearer';

  constructor(private readonly verify: FiefBearerVerify) {
    super();
  }

  override authenticate(request: any): void {
    this.verify(request, (error, user) => {
      if (error) this.error(error);
      else if (user) this.success(user);
      else this.fail(401);
    });
  }
}

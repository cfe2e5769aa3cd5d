import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who is calling a management API. */
export interface Caller {
  userId: string;
  name: string;
  admin: boolean;
  /** How the caller proved it. */
  via: 'management-key' | 'service-token' | 'jwt' | 'bootstrap';
  /** The management key used, or the key a service token was exchanged for. */
  keyId?: string;
}

/**
 * Resolves the `Authorization` header of a management request to a caller, or throws `ApiError`
 * (`unauthenticated` with `WWW-Authenticate`, or `key-scope-invalid` for an inference or access key).
 * Credentials in a query string are never read. Implemented on the in-memory access model.
 */
export interface CallerAuthenticator {
  authenticate(authorization: string | undefined): Caller | Promise<Caller>;
}

export const CALLER_AUTHENTICATOR = Symbol('CALLER_AUTHENTICATOR');

type RequestWithCaller = FastifyRequest & { caller?: Caller };

/** Guard for management routes: authenticates and attaches the caller to the request. */
@Injectable()
export class CallerGuard implements CanActivate {
  constructor(@Inject(CALLER_AUTHENTICATOR) private readonly authenticator: CallerAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    request.caller = await this.authenticator.authenticate(request.headers.authorization);
    return true;
  }
}

/** The authenticated caller of a route guarded by `CallerGuard`. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<RequestWithCaller>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without CallerGuard');
  return caller;
});

import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '@tollgate/contracts';
import { ApiJsonResponse } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BrowserRedirect, ConsoleSignIn } from './console-sign-in';

export const CONSOLE_SIGN_IN = Symbol('CONSOLE_SIGN_IN');

const IDP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const connectorId = (idp: string): string => {
  if (!IDP_ID.test(idp)) throw new ApiError('not-found', 'no such IdP connector');
  return idp;
};

const optionsResponse = z.object({ idps: z.array(z.object({ id: z.string(), name: z.string() })) });
const sessionResponse = z.object({
  token: z.string().describe('A Tollgate service token for the signed-in user (as `POST /v1/idp/{idp}/sign-in`)'),
});

/** The browser's half of it: a 302 with the cookies, and no referrer leaking the code or state onwards. */
function redirect(reply: FastifyReply, answer: BrowserRedirect): void {
  void reply
    .status(302)
    .header('Location', answer.location)
    .header('Referrer-Policy', 'no-referrer')
    .header('Set-Cookie', answer.cookies)
    .send();
}

/**
 * Sign-in to the web console through an IdP connector (OIDC authorization code flow with PKCE), and the
 * hand-over of its session to the console. Browser routes: no Tollgate credential; the IdP's answer and the
 * HttpOnly cookies bound to this browser are the proof.
 */
@ApiTags('console')
@Controller('v1')
export class ConsoleSignInController {
  constructor(@Inject(CONSOLE_SIGN_IN) private readonly service: ConsoleSignIn) {}

  @Get('console/sign-in-options')
  @ApiOperation({
    summary: 'The IdP connectors the console offers sign-in with',
    description: 'Connectors whose `oidc.console` is configured; `name` labels the button. No credential needed.',
  })
  @ApiJsonResponse(200, 'The connectors', optionsResponse, { idps: [{ id: 'corp', name: 'Corp SSO' }] })
  options() {
    return this.service.options();
  }

  @Get('idp/:idp/console/login')
  @ApiOperation({
    summary: 'Start a console sign-in: 302 to the IdP’s authorization endpoint',
    description:
      'Sends the browser to the connector’s authorization endpoint (response_type=code, PKCE S256, state, nonce, its `redirectUri`) and sets the HttpOnly, Secure, SameSite=Lax cookie `tollgate_console_login` (Path `/v1/idp/{idp}/console`, 10 minutes) binding them to this browser. IdP discovery unreachable: 302 to `/console/?signin-error=idp-unavailable`.',
  })
  @ApiJsonResponse(302, 'To the IdP')
  @ApiJsonResponse(404, 'No such connector, or no console sign-in on it')
  async login(@Param('idp') idp: string, @Res() reply: FastifyReply): Promise<void> {
    redirect(reply, await this.service.start(connectorId(idp)));
  }

  @Get('idp/:idp/console/callback')
  @ApiOperation({
    summary: 'The IdP’s redirect back: redeem the code, sign in, 302 to the console',
    description:
      'Checks `state` against this browser’s `tollgate_console_login` cookie (then clears it: one use), redeems `code` at the token endpoint with the PKCE verifier, checks the ID token like `POST /v1/idp/{idp}/sign-in` does plus its `nonce`, and signs the user in (groups refreshed). Success: 302 to `/console/?signin=idp` with the HttpOnly, Secure, SameSite=Strict cookie `tollgate_console_session` (Path `/v1/console/session`, 60 s). Failure: 302 to `/console/?signin-error=<code>`, code one of `state-mismatch`, `idp-refused`, `token-exchange-failed`, `sign-in-refused`.',
  })
  @ApiJsonResponse(302, 'To the console')
  @ApiJsonResponse(404, 'No such connector, or no console sign-in on it')
  async callback(
    @Param('idp') idp: string,
    @Query() query: Record<string, unknown>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    redirect(reply, await this.service.callback(connectorId(idp), query ?? {}, request.headers.cookie, request.id));
  }

  @Post('console/session')
  @HttpCode(200)
  @ApiHeader({ name: 'X-Tollgate-Console', required: true, description: 'Must be `1`' })
  @ApiOperation({
    summary: 'Pick up the service token of the console sign-in that just finished in this browser (once)',
    description:
      'Reads and clears the `tollgate_console_session` cookie. The console keeps the token in memory and sends it as `Authorization: Bearer`; the cookie itself is a credential nowhere, not even here without the header.',
  })
  @ApiJsonResponse(200, 'The service token', sessionResponse, {
    token: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfMSJ9.c2ln',
  })
  @ApiJsonResponse(401, '`unauthenticated`: no sign-in to pick up')
  @ApiJsonResponse(403, '`forbidden`: the header is missing')
  session(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { answer, cookies } = this.service.pickUp(request.headers);
    void reply.header('Set-Cookie', cookies);
    return answer;
  }
}

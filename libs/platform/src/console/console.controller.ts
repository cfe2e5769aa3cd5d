import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApiError } from '@tollgate/contracts';
import type { FastifyReply } from 'fastify';
import type { ConsoleAssets } from './console-assets';

export const CONSOLE_ASSETS = Symbol('CONSOLE_ASSETS');

/**
 * The web console: `/` redirects (302) to `/console/`, which serves the single page; its script and styles
 * are under `/console/<file>`. The security headers (CSP and friends) are added for every `/console` answer
 * by the platform's hook (`CONSOLE_HEADERS`). Not part of the API, so not in the OpenAPI document.
 */
@ApiExcludeController()
@Controller()
export class ConsoleController {
  constructor(@Inject(CONSOLE_ASSETS) private readonly assets: ConsoleAssets) {}

  @Get()
  root(@Res() reply: FastifyReply): void {
    void reply.status(302).header('Location', '/console/').send();
  }

  @Get('console')
  page(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  @Get('console/:file')
  file(@Param('file') file: string, @Res() reply: FastifyReply): void {
    this.send(reply, file);
  }

  private send(reply: FastifyReply, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) {
      throw new ApiError(
        'not-found',
        this.assets.built ? 'no such console file' : 'the console is not built: run npm run build',
      );
    }
    // Revalidated on every load: the file names carry no hash, and a new release must show at once.
    void reply
      .status(200)
      .header('Content-Type', asset.contentType)
      .header('Cache-Control', 'no-cache')
      .send(asset.body);
  }
}

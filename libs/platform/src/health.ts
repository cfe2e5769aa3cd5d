import { Controller, Get, Global, Injectable, Module, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

export interface ReadinessResult {
  ready: boolean;
  detail?: Record<string, unknown>;
}

/**
 * Components that must be ready before the process takes traffic (database reachable, projection caught up
 * within the freshness bound, relay running) register a check here; `/health/ready` asks all of them.
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, () => ReadinessResult | Promise<ReadinessResult>>();

  register(name: string, check: () => ReadinessResult | Promise<ReadinessResult>): void {
    this.checks.set(name, check);
  }

  entries(): [string, () => ReadinessResult | Promise<ReadinessResult>][] {
    return [...this.checks.entries()];
  }
}

@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly readiness: ReadinessChecks,
  ) {}

  /** Liveness: the event loop answers. Never depends on a dependency, so a slow database restarts nothing. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const indicators = this.readiness.entries().map(([name, check]) => async () => {
      const session = this.indicator.check(name);
      try {
        const result = await check();
        return result.ready ? session.up(result.detail) : session.down(result.detail);
      } catch (err) {
        return session.down({ message: (err as Error).message });
      }
    });
    try {
      const result = await this.health.check(indicators);
      await reply.status(200).send(result);
    } catch (err) {
      const body = (err as { getResponse?: () => unknown }).getResponse?.() ?? { status: 'error' };
      await reply.status(503).send(body);
    }
  }
}

@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ReadinessChecks],
  exports: [ReadinessChecks],
})
export class HealthModule {}

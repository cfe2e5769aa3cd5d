import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ACCESS_MODEL, type AccessModel } from '@tollgate/access-model';
import { ApiJsonResponse, type Caller, CallerGuard, CurrentCaller } from '@tollgate/platform';
import { UsersService } from '../application/users.service';
import { me } from '../application/me';
import { EXAMPLES, meResponse } from './schemas';

@ApiTags('me')
@ApiBearerAuth()
@Controller('v1/me')
@UseGuards(CallerGuard)
export class MeController {
  constructor(
    @Inject(UsersService) private readonly users: UsersService,
    @Inject(ACCESS_MODEL) private readonly model: AccessModel,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Who I am, my groups, and the deployments I may invoke now',
    description:
      'Deployments are those the authorizer would allow for this user now, with a credential of the kind this request used (a management key counts as the user’s inference API keys). Tollgate admins get no implicit right to invoke.',
  })
  @ApiJsonResponse(200, 'The caller', meResponse, EXAMPLES.me)
  get(@CurrentCaller() caller: Caller) {
    return me(this.users, this.model, caller, Date.now());
  }
}

// Public API of @tollgate/authz: the authorizer's three doors over one check.
export { AuthzModule, ExtAuthzGrpcDoor, type AuthzModuleOptions } from './authz.module';
export { AuthzChecker, type AccessModelView, type AuthzCheckerOptions, type FreshnessView } from './check';
export type { CheckInput, DecisionHeaders, Door, DoorDecision } from './types';
export { Doors, type Check } from './doors/doors';
export { authorizeInput, authorizeRequestSchema, explainRequested, type AuthorizeRequest } from './doors/authorize';
export { forwardAuthInput, forwardAuthResponse, type ForwardAuthResponse } from './doors/forward-auth';
export { forwardAuthRoute, isForwardAuthUrl, type ForwardAuthRouteOptions } from './doors/forward-auth.route';
export { LoadShedder, type LoadShedderOptions } from './doors/load-shedder';
export {
  extAuthzInput,
  extAuthzResponse,
  rpcCodeOf,
  RpcCode,
  type CheckRequest,
  type CheckResponse,
  type HttpRequestAttributes,
} from './doors/ext-authz';
export { ExtAuthzDoor, loadExtAuthzService, type CheckHandler, type ExtAuthzDoorOptions } from './doors/ext-authz.grpc';
export { DecisionRecorder, decisionLogLine, type DecisionLogLine } from './decision-log';
export { authzMetrics, type AuthzMetrics } from './authz.metrics';
export {
  RevocationConfirmations,
  type ConfirmationMessage,
  type RevocationConfirmationsOptions,
  type RevocationStatus,
} from './revocations/confirmations';
export { AUTHZ_CHECKER, AUTHZ_DOORS, AUTHZ_GRPC, REVOCATION_CONFIRMATIONS } from './tokens';

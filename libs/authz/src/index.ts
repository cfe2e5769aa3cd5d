// Public API of @tollgate/authz: the authorizer's three doors over one check.
export { AuthzModule, ExtAuthzGrpcDoor, type AuthzModuleOptions } from './authz.module';
export { AuthzChecker, type AccessModelView, type AuthzCheckerOptions, type FreshnessView } from './check';
export type { CheckInput, DecisionHeaders, Door, DoorDecision } from './types';
export { Doors, type Check } from './doors/doors';
export { authorizeInput, authorizeRequestSchema, explainRequested, type AuthorizeRequest } from './doors/authorize';
export { forwardAuthInput, forwardAuthResponse, type ForwardAuthResponse } from './doors/forward-auth';
export {
  extAuthzInput,
  extAuthzResponse,
  rpcCodeOf,
  RpcCode,
  type CheckRequest,
  type CheckResponse,
  type HttpRequestAttributes,
} from './doors/ext-authz';
export {
  ExtAuthzServer,
  loadExtAuthzService,
  type CheckHandler,
  type ExtAuthzServerOptions,
} from './doors/ext-authz.server';
export { DecisionRecorder, decisionLogLine, type DecisionLogLine } from './decision-log';
export { authzMetrics, type AuthzMetrics } from './authz.metrics';
export {
  CONFIRMATIONS_TOPIC,
  RevocationConfirmations,
  type ConfirmationMessage,
  type RevocationConfirmationsOptions,
  type RevocationStatus,
} from './revocations/confirmations';
export { AUTHZ_CHECKER, AUTHZ_DOORS, AUTHZ_GRPC, REVOCATION_CONFIRMATIONS } from './tokens';

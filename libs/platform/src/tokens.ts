/** Injection tokens shared by every service module. */
export const CONFIG = Symbol('TOLLGATE_CONFIG');
export const LOGGER = Symbol('TOLLGATE_LOGGER');
/** PostgreSQL URL of the server this process uses (embedded or `DATABASE_URL`). */
export const DATABASE_URL = Symbol('TOLLGATE_DATABASE_URL');
/** The process's `InProcessBus` (embedded mode's stand-in for the topics services exchange outside the event logs). */
export const IN_PROCESS_BUS = Symbol('TOLLGATE_IN_PROCESS_BUS');

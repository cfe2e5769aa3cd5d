/** SQL identifiers of one writer schema. Schema names are validated, then quoted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid event store schema name ${JSON.stringify(schema)}`);
}

export interface StoreTables {
  schema: string;
  events: string;
  checkpoints: string;
  idempotency: string;
  /** NOTIFY channel raised by every append (payload: schema). */
  channel: string;
}

export function storeTables(schema: string): StoreTables {
  assertSchemaName(schema);
  return {
    schema,
    events: `"${schema}".events`,
    checkpoints: `"${schema}".relay_checkpoints`,
    idempotency: `"${schema}".idempotency_keys`,
    channel: `tollgate_events_${schema}`,
  };
}

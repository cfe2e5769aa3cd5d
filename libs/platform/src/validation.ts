import { ApiError } from '@tollgate/contracts';
import { z } from 'zod';

/**
 * Parses a request body, query or parameter with a zod schema. Failure is 400 `validation-failed` whose
 * details name each field; unknown fields in a strict schema are named too. Nothing is written on failure,
 * since parsing happens before any command runs.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ field: base ? `${base}.${k}` : k, message: 'unknown field' }));
    }
    return [{ field: base || where, message: issue.message }];
  });
  throw new ApiError('validation-failed', `invalid ${where}: ${details.map((d) => d.field).join(', ')}`, details);
}

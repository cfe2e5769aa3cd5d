import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * OpenAPI schema of a zod schema: the request schema is declared once and gives validation and docs. The
 * document is OpenAPI 3.0 (what @nestjs/swagger writes), so the schema is zod's OpenAPI 3.0 dialect
 * (`nullable`, `enum` for literals), not JSON Schema 2020-12.
 */
export const toOpenApiSchema = (schema: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;

/** Documents a JSON body with its zod schema and an example. */
export const ApiJsonBody = (schema: z.ZodType, example?: unknown) =>
  applyDecorators(ApiBody({ schema: { ...toOpenApiSchema(schema), ...(example ? { example } : {}) } }));

/** Documents a response with its zod schema and an example. */
export const ApiJsonResponse = (status: number, description: string, schema?: z.ZodType, example?: unknown) =>
  applyDecorators(
    ApiResponse({
      status,
      description,
      ...(schema || example
        ? { schema: { ...(schema ? toOpenApiSchema(schema) : {}), ...(example ? { example } : {}) } }
        : {}),
    }),
  );

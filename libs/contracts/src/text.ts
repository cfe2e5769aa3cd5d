/**
 * Text the contract accepts anywhere in a request (CONTRACT.md section 3): no U+0000 and no unpaired UTF-16
 * surrogate. PostgreSQL refuses both (`text` and `jsonb` cannot hold them), so such a string reaching a query
 * was a 500. The platform's request policy (`libs/platform/src/request-policy.ts`) applies this one check to
 * every JSON body (keys and values, at any depth), path parameter and query parameter, for every route, so
 * no schema has to remember it.
 */
const UNSAFE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSAFE_TEXT_MESSAGE = 'must not contain U+0000 or an unpaired UTF-16 surrogate';

/** True when `s` holds U+0000 or an unpaired surrogate. */
export const isUnsafeText = (s: string): boolean => UNSAFE.test(s);

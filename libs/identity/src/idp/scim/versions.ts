import { ScimError } from './scim-error';

/**
 * SCIM resource versions (RFC 7644 section 3.14): `meta.version` and the `ETag` header are the same weak
 * entity tag, and `If-Match` on PUT, PATCH and DELETE must name the current one (or `*`).
 *
 * A User's version changes with its SCIM row (userName and attributes) and with the Tollgate user behind it
 * (`active`, groups), since both show in the resource. A Group's version changes with every SCIM write to it;
 * members that join or leave through sign-in or webhooks (the user's side) do not change it, as a group's
 * members are derived from users' group sets.
 */
export function userVersion(rowVersion: number, userStreamVersion: number): string {
  return `W/"${rowVersion}.${userStreamVersion}"`;
}

export function groupVersion(rowVersion: number): string {
  return `W/"${rowVersion}"`;
}

/**
 * Throws 412 when `If-Match` is present and names none of the current version (weak comparison, a list
 * allowed, `*` matches any existing resource). Absent: no precondition, as the IdPs that do not send it expect.
 */
export function checkIfMatch(ifMatch: string | undefined, current: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '') return;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = ifMatch.split(',').map(opaque);
  if (wanted.includes('*') || wanted.includes(opaque(current))) return;
  throw new ScimError(412, `the resource has changed: its version is ${current}, If-Match names ${ifMatch}`);
}

/**
 * What each API key role may do:
 * - portal: read the unified view, create and update tickets;
 * - batch: Excel and sync endpoints (and reading their jobs);
 * - admin: everything, including key management and connector/mapping admin.
 */
export enum Role {
  PORTAL = 'portal',
  ADMIN = 'admin',
  BATCH = 'batch',
}

export const ALL_ROLES: Role[] = [Role.PORTAL, Role.ADMIN, Role.BATCH];

export function parseRole(input: string): Role | null {
  return (ALL_ROLES as string[]).includes(input) ? (input as Role) : null;
}

/** Admin satisfies every requirement; other roles only their own. */
export function roleAllows(role: Role, required: readonly Role[]): boolean {
  return role === Role.ADMIN || required.length === 0 || required.includes(role);
}

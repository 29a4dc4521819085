/** A query or write that would not be scoped to one organization: refused before it runs. */
export class OrgScopeError extends Error {
  override name = "OrgScopeError";
}

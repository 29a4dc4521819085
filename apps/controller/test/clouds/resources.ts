import type { TDictResource } from "../../src/tagging/dictionary.ts";

/**
 * Dictionary resources for tests, of one account: a kind and an external id, the rest empty unless
 * given; tag ids count up from 1 (`reset` starts them again, for tests that name ids).
 */
export function resourceFactory(accountId: string) {
  let next = 1;
  const make = (kind: string, externalId: string, extra: Partial<TDictResource> = {}): TDictResource => ({
    accountId,
    accountKind: "aws",
    kind,
    externalId,
    tagId: next++,
    refs: {},
    cidr: null,
    ips: [],
    attrs: {},
    ...extra,
  });
  return Object.assign(make, {
    reset: () => {
      next = 1;
    },
  });
}

/** Whether a Prisma error is a unique-constraint violation (P2002): a lost race or a taken name. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "P2002";
}

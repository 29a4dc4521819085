/** Only same-site paths are followed after sign-in (no open redirect). */
export function safeCallback(value: string | undefined): string {
  return value?.startsWith("/") && !value.startsWith("//") ? value : "/";
}

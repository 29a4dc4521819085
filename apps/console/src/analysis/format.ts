/** Display helpers of the analysis views. */
export function fmtUs(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)} ms`;
  return `${Math.round(us)} µs`;
}
export function fmtBytes(b: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = b;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
export function fmtTime(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 23)}`;
}
export function fmtRate(perS: number): string {
  return perS >= 10 ? `${perS.toFixed(0)}/s` : `${perS.toFixed(2)}/s`;
}
export const fmtPct = (p: number) => `${p.toFixed(p > 0 && p < 1 ? 2 : 1)} %`;
/** A µs range as UTC minutes, the date once when both ends share it: "2026-11-26 10:00–16:00 UTC". */
export function fmtRangeUtc(from: number, to: number): string {
  const a = new Date(Math.floor(from / 1000)).toISOString();
  const b = new Date(Math.floor(to / 1000)).toISOString();
  const day = (s: string) => s.slice(0, 10);
  const hm = (s: string) => s.slice(11, 16);
  return day(a) === day(b)
    ? `${day(a)} ${hm(a)}–${hm(b)} UTC`
    : `${day(a)} ${hm(a)} – ${day(b)} ${hm(b)} UTC`;
}

export type DiffLine = { op: "same" | "add" | "del"; text: string };

/**
 * A line diff by longest common subsequence (configs are a few hundred lines at most, so the
 * quadratic table is fine and keeps this dependency-free).
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split("\n");
  const b = after.split("\n");
  const n = a.length;
  const m = b.length;
  const w = m + 1;
  // lcs[i * w + j]: length of the LCS of a[i..] and b[j..].
  const lcs = new Int32Array((n + 1) * w);
  const at = (i: number, j: number) => lcs[i * w + j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: "same", text: a[i] ?? "" });
      i++;
      j++;
    } else if (at(i + 1, j) >= at(i, j + 1)) out.push({ op: "del", text: a[i++] ?? "" });
    else out.push({ op: "add", text: b[j++] ?? "" });
  }
  while (i < n) out.push({ op: "del", text: a[i++] ?? "" });
  while (j < m) out.push({ op: "add", text: b[j++] ?? "" });
  return out;
}

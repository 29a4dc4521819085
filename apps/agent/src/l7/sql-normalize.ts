/**
 * SQL literal masking: string, numeric, hex and boolean-free literals become `?`, runs of
 * whitespace one space, so rows never carry values (passwords in `ALTER USER`, personal data in
 * WHERE clauses) and equal statements group into one endpoint. Identifiers keep their digits
 * (`t1`, `col_2`); quoted identifiers (`"x"` in PostgreSQL, `` `x` `` in MySQL) are kept.
 * Linear, single pass, bounded by the input (itself capped by the caller).
 */
export type SqlDialect = "mysql" | "postgresql";

function isIdent(c: number): boolean {
  return (
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127
  );
}

/** [A-Za-z0-9_]: the characters that continue an identifier with no rule of their own. */
function isWord(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

export function normalizeSql(sql: string, dialect: SqlDialect): string {
  let out = "";
  const n = sql.length;
  let i = 0;
  let space = false;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      space = true;
      i++;
      continue;
    }
    if (space && out.length > 0) out += " ";
    space = false;
    // 'string' (and "string" in MySQL): '' and backslash escapes inside.
    if (c === 39 || (c === 34 && dialect === "mysql")) {
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (d === 92 && dialect === "mysql") i += 2;
        else if (d === c) {
          if (sql.charCodeAt(i + 1) === c) i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      out += "?";
      continue;
    }
    // PostgreSQL dollar-quoted strings: $tag$ ... $tag$
    if (c === 36 && dialect === "postgresql") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        i = close < 0 ? n : close + m[0].length;
        out += "?";
        continue;
      }
    }
    // Numbers not glued to an identifier (t1 stays), including 0x.., 1.5e3, .5
    const prev = out.length > 0 ? out.charCodeAt(out.length - 1) : 32;
    if (
      ((c >= 48 && c <= 57) || (c === 46 && sql.charCodeAt(i + 1) >= 48 && sql.charCodeAt(i + 1) <= 57)) &&
      !isIdent(prev)
    ) {
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (isIdent(d) || d === 46) i++;
        else if ((d === 43 || d === 45) && (sql.charCodeAt(i - 1) | 32) === 101) i++;
        else break;
      }
      out += "?";
      continue;
    }
    // Quoted identifiers stay as they are.
    if (c === 96 || (c === 34 && dialect === "postgresql")) {
      const close = sql.indexOf(String.fromCharCode(c), i + 1);
      const e = close < 0 ? n : close + 1;
      out += sql.slice(i, e);
      i = e;
      continue;
    }
    // An identifier or keyword is copied as one slice (its digits are glued to it, so no
    // number rule applies inside): per-character appends were most of this function's cost.
    let j = i + 1;
    if (isIdent(c)) while (j < n && isWord(sql.charCodeAt(j))) j++;
    out += j === i + 1 ? sql[i] : sql.slice(i, j);
    i = j;
  }
  return out;
}

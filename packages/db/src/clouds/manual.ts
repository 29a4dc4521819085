import { z } from "zod";
import { RESOURCE_KINDS, type TSourceResource, ZSourceResource } from "./resources.ts";

/**
 * Manual import for what no API describes (on-premise subnets, appliances): JSON
 * `{ "resources": [{ kind, externalId, name, cidr?, ips?, refs?, labels?, attrs? }] }` or CSV with a
 * header `kind,external_id,name[,cidr][,ips][,<parent kind>…]` (ips separated by spaces or `;`,
 * parent columns named by kind: vpc, subnet, region, az, host…). The document is kept as the
 * account's sealed configuration and re-read by every sync.
 */
export const ZManualDocument = z.object({
  format: z.enum(["json", "csv"]),
  text: z.string().max(10_000_000),
});
export type TManualDocument = z.infer<typeof ZManualDocument>;

export class ManualImportError extends Error {
  override name = "ManualImportError";
}

function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cur);
      cur = "";
    } else cur += ch;
  }
  cells.push(cur);
  return cells.map((c) => c.trim());
}

function fromCsv(text: string): unknown[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const header = parseCsvLine(lines[0] ?? "").map((h) => h.toLowerCase());
  for (const need of ["kind", "external_id", "name"]) {
    if (!header.includes(need)) throw new ManualImportError(`csv: the header needs a "${need}" column`);
  }
  return lines.slice(1).map((line) => {
    const cells = parseCsvLine(line);
    const get = (h: string) => cells[header.indexOf(h)] ?? "";
    const refs: Record<string, string> = {};
    for (const k of RESOURCE_KINDS) if (header.includes(k) && get(k)) refs[k] = get(k);
    return {
      kind: get("kind"),
      externalId: get("external_id"),
      name: get("name"),
      ...(get("cidr") ? { cidr: get("cidr") } : {}),
      ips: get("ips")
        .split(/[\s;]+/)
        .filter(Boolean),
      refs,
    };
  });
}

export function parseManual(doc: unknown): TSourceResource[] {
  const d = ZManualDocument.parse(doc);
  let items: unknown[];
  if (d.format === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(d.text);
    } catch {
      throw new ManualImportError("json: the document is not valid JSON");
    }
    const r = z.object({ resources: z.array(z.unknown()) }).safeParse(parsed);
    if (!r.success) throw new ManualImportError('json: expected { "resources": [...] }');
    items = r.data.resources;
  } else items = fromCsv(d.text);
  return items.map((item, i) => {
    const r = ZSourceResource.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new ManualImportError(
        `resource ${i + 1}: ${issue?.path.join(".") || "(row)"}: ${issue?.message}`,
      );
    }
    return r.data;
  });
}

import { describe, expect, it } from "vitest";
import { infileInsert } from "./engine.ts";

describe("infileInsert", () => {
  it("reads a plain insert's data from the file", () => {
    const sql = "INSERT INTO l4_flow_log (org_id, agent_id, `flow id`) FORMAT TabSeparated";
    expect(infileInsert(sql)?.("/d/insert-spool/1-2.data")).toBe(
      "INSERT INTO l4_flow_log (org_id, agent_id, `flow id`) FROM INFILE '/d/insert-spool/1-2.data' COMPRESSION 'none' FORMAT TabSeparated",
    );
    expect(infileInsert("insert into db.`t` format RowBinary;\n")?.("/x/it's")).toBe(
      "insert into db.`t` FROM INFILE '/x/it\\'s' COMPRESSION 'none' format RowBinary",
    );
  });

  it("leaves any other shape inline", () => {
    for (const sql of [
      "INSERT INTO t SETTINGS async_insert = 1 FORMAT TabSeparated",
      "INSERT INTO t SELECT * FROM s FORMAT TabSeparated",
      "INSERT INTO t FROM INFILE '/etc/passwd' FORMAT TabSeparated",
      "INSERT INTO t VALUES (1)",
      "INSERT INTO t (a, b') FORMAT TabSeparated",
    ]) {
      expect(infileInsert(sql)).toBeUndefined();
    }
  });
});

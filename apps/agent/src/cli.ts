/**
 * `flowplane-agent <command>`: a table of subcommands, each imported lazily so `analyze` does
 * not load the live-capture code (and its optional native binding) and vice versa.
 */
const RUN_COMMAND = "./run/command.ts";

const COMMANDS: Record<
  string,
  { summary: string; load: () => Promise<{ main: (argv: string[]) => Promise<number> }> }
> = {
  analyze: {
    summary:
      "analyze <file.pcap|file.pcapng> --out <dir> [--workers N] [--multi dispatch|replicate] [--vxlan-port P] [--org-id U] [--agent-id U] [--max-flows N] [--no-l7]",
    load: () => import("./analyze-command.ts"),
  },
  run: {
    summary:
      "run --interface <if> [--bpf F] | --pcap <file> [--speed 1x|Nx|max] [--loop] (--controller <url> --token <t> [--state-dir D | --name N] | --out <dir>) [--no-l7]",
    // Written by the live-capture side; a variable specifier keeps typecheck independent of it.
    load: () => import(RUN_COMMAND),
  },
};

function usage(): string {
  return [
    "usage: flowplane-agent <command> [options]",
    ...Object.values(COMMANDS).map((c) => `  ${c.summary}`),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`flowplane-agent: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  let mod: Awaited<ReturnType<typeof cmd.load>>;
  try {
    mod = await cmd.load();
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_MODULE_NOT_FOUND") {
      process.stderr.write(`flowplane-agent: the "${name}" command is not available in this build\n`);
      return 2;
    }
    throw err;
  }
  return mod.main(rest);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`flowplane-agent: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

import { controllerUrlSetting } from "../../../env.ts";

/** The controller URL agents should use: FLOWPLANE_CONTROLLER_URL, else this host on port 7120. */
export function controllerUrl(origin: string | null): string {
  const configured = controllerUrlSetting();
  if (configured) return configured.replace(/\/$/, "");
  const base = new URL(origin ?? "http://127.0.0.1");
  return `${base.protocol}//${base.hostname}:7120`;
}

/** The one-line install-and-run command shown with a new token. */
export function agentCommand(controller: string, token: string, iface = "eth0"): string {
  return `npx flowplane-agent run --interface ${iface} --controller ${controller} --token ${token}`;
}

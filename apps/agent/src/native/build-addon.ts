/** The agent's addons are built by the shared builder (@flowplane/core/native-addon). */
export { type AddonSpec, buildAddon, privateAddonDir } from "@flowplane/core/native-addon";

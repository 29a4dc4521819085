/**
 * The agent <-> controller protocol version. Bump it when a message changes in a way an older peer
 * cannot read; add fields as optional instead whenever possible (both sides strip unknown keys, so
 * a newer peer's extra fields never break an older one).
 */
export const PROTOCOL_VERSION = 1;
/** The oldest agent protocol this build still answers. Older agents get 426 with this range. */
export const MIN_PROTOCOL_VERSION = 1;

export type TVersionCheck =
  | { ok: true }
  | { ok: false; reason: "too_old" | "too_new"; supported: { min: number; max: number }; message: string };

/** What a controller says to an agent speaking `version`; never throws. */
export function checkProtocolVersion(version: number): TVersionCheck {
  const supported = { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION };
  if (version < MIN_PROTOCOL_VERSION) {
    return {
      ok: false,
      reason: "too_old",
      supported,
      message: `agent protocol ${version} is no longer supported (this controller speaks ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}): upgrade the agent`,
    };
  }
  if (version > PROTOCOL_VERSION) {
    return {
      ok: false,
      reason: "too_new",
      supported,
      message: `agent protocol ${version} is newer than this controller (${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}): upgrade the controller or run an older agent`,
    };
  }
  return { ok: true };
}

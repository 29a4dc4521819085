// The staged-rollout rules live in @flowplane/db so the console shows exactly what sync does.
export { canaryIds, desiredRevision, isStaged, type TRolloutGroup } from "@flowplane/db";

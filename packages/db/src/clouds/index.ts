// @flowplane/db/clouds: what both the console and the controller need of cloud accounts (issue 9,
// docs/autotagging.md): credential schemas, the sealing cipher, the manual-import parser and the
// account functions that only need Postgres, and the cloud-sync queue's names. No cloud SDK, BullMQ or
// Redis here.

export {
  CloudAccountNotFoundError,
  createCloudAccount,
  listCloudAccounts,
  removeCloudAccount,
  replaceManualDocument,
  resourceHistory,
  SecretsKeyMissingError,
  type TCloudAccountView,
  type TCloudDb,
  type TCreateCloudAccount,
  ZCreateCloudAccount,
} from "./accounts.ts";
export {
  type TAwsCredentials,
  type TKubernetesCredentials,
  ZAwsCredentials,
  ZKubernetesCredentials,
} from "./credentials.ts";
export {
  CloudAccountEditError,
  editCloudAccount,
  getCloudAccountDetail,
  SECRET_FIELDS,
  type TCloudAccountDetail,
  type TCloudAccountEdit,
  type TCloudAccountSettings,
  type TEditCloudAccount,
  type TSecretField,
  ZEditCloudAccount,
} from "./edit.ts";
export { ManualImportError, parseManual, type TManualDocument, ZManualDocument } from "./manual.ts";
export {
  RESOURCE_KINDS,
  resource,
  type TResourceKind,
  type TSourceResource,
  type TSourceResourceInput,
  ZResourceKind,
  ZSourceResource,
} from "./resources.ts";
export {
  openSecret,
  optionalSecretsKeyFromEnv,
  SecretOpenError,
  SecretsKey,
  sealSecret,
  secretsKeyFromEnv,
  ZSecretsEnv,
} from "./secrets.ts";
export {
  BULL_PREFIX,
  CLOUD_SYNC_NOW_JOB,
  CLOUD_SYNC_QUEUE,
  cloudSyncJobOptions,
  type TCloudSyncJobData,
} from "./sync-jobs.ts";

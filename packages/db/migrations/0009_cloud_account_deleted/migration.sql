-- A cloud account removed from the console (issue 9) is kept, marked deleted: its resources'
-- tag ids still name old rows and their change history stays readable.
ALTER TABLE "cloud_accounts" ADD COLUMN "deleted_at" TIMESTAMPTZ(3);

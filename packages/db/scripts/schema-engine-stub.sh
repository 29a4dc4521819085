#!/bin/sh
# Stands in for Prisma's native schema engine, which `prisma generate` insists on locating but never
# runs (the download fails offline). Migrations are ours: see src/migrate.ts.
echo "flowplane: the Prisma schema engine is not used here; run 'npm run migrate -w @flowplane/db'" >&2
exit 1

"use client";

import { Button, Card, Field } from "@flowplane/ui";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ErrorAlert } from "../../../../components/ErrorAlert.tsx";
import { useTRPC } from "../../../../trpc/react.tsx";

type TKind = "aws" | "kubernetes" | "manual" | "agents";

const EXAMPLE: Record<"aws" | "kubernetes", string> = {
  aws: '{ "accessKeyId": "AKIA…", "secretAccessKey": "…", "homeRegion": "eu-west-1" }',
  kubernetes: '{ "server": "https://k8s.example:6443", "token": "…", "vpc": "vpc-0abc" }',
};
const MANUAL_EXAMPLE = {
  csv: "kind,external_id,name,cidr\nsubnet,dc1-lan,DC1 LAN,192.168.0.0/16",
  json: '{ "resources": [{ "kind": "subnet", "externalId": "dc1-lan", "name": "DC1 LAN", "cidr": "192.168.0.0/16" }] }',
};

/**
 * Adds a cloud account. The credentials go to the server once, are sealed there and never come
 * back: after a successful add the form is cleared and nothing shows them again.
 */
export function AddCloudAccountForm({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<TKind>("aws");
  const [format, setFormat] = useState<"csv" | "json">("csv");
  const [localError, setLocalError] = useState<string | null>(null);
  const create = useMutation(
    trpc.clouds.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.clouds.pathFilter()),
    }),
  );
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setLocalError(null);
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const name = String(form.get("name") ?? "").trim();
    const text = String(form.get("credentials") ?? "");
    let account: Parameters<typeof create.mutate>[0]["account"];
    if (kind === "agents") account = { kind, name };
    else if (kind === "manual") account = { kind, name, credentials: { format, text } };
    else {
      let credentials: unknown;
      try {
        credentials = JSON.parse(text);
      } catch {
        setLocalError("The credentials are not valid JSON.");
        return;
      }
      account = { kind, name, credentials } as typeof account;
    }
    create.mutate({ orgSlug, account }, { onSuccess: () => formEl.reset() });
  }
  return (
    <Card title="Add an account">
      <form className="fp-stack" onSubmit={onSubmit} noValidate aria-label="Add a cloud account">
        <div className="fp-form-inline">
          <Field id="cloud-kind" label="Kind">
            <select
              id="cloud-kind"
              name="kind"
              className="fp-input"
              value={kind}
              onChange={(e) => setKind(e.target.value as TKind)}
            >
              <option value="aws">AWS account</option>
              <option value="kubernetes">Kubernetes cluster</option>
              <option value="manual">Manual import (JSON or CSV)</option>
              <option value="agents">Agent hosts (no credentials)</option>
            </select>
          </Field>
          <Field id="cloud-name" label="Name">
            <input
              id="cloud-name"
              name="name"
              className="fp-input"
              maxLength={100}
              required
              placeholder="prod"
            />
          </Field>
          {kind === "manual" && (
            <Field id="cloud-format" label="Format">
              <select
                id="cloud-format"
                className="fp-input"
                value={format}
                onChange={(e) => setFormat(e.target.value as "csv" | "json")}
              >
                <option value="csv">CSV</option>
                <option value="json">JSON</option>
              </select>
            </Field>
          )}
        </div>
        {kind !== "agents" && (
          <Field
            id="cloud-credentials"
            label={kind === "manual" ? "Resources" : "Credentials (JSON)"}
            hint={
              kind === "manual"
                ? "Header kind,external_id,name[,cidr][,ips][,vpc,subnet,…]; or JSON { resources: [...] }. See docs/autotagging.md."
                : "Encrypted with the platform key when you add the account and never shown again."
            }
          >
            <textarea
              id="cloud-credentials"
              name="credentials"
              className="fp-input fp-mono"
              rows={6}
              spellCheck={false}
              autoComplete="off"
              aria-describedby="cloud-credentials-hint"
              placeholder={kind === "manual" ? MANUAL_EXAMPLE[format] : EXAMPLE[kind]}
            />
          </Field>
        )}
        <div>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Adding…" : "Add account"}
          </Button>
        </div>
        {localError && (
          <div className="fp-alert fp-alert-bad" role="alert">
            {localError}
          </div>
        )}
        <ErrorAlert error={create.error} />
        {create.data && !create.isPending && (
          <div className="fp-alert fp-alert-info" role="status">
            Added {create.data.name}. Its first sync starts within seconds; its credentials are stored
            encrypted and will not be shown again.
          </div>
        )}
      </form>
    </Card>
  );
}

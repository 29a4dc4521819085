"use client";

import { Button, Card, Field } from "@flowplane/ui";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useState } from "react";
import { ErrorAlert } from "../../../../components/ErrorAlert.tsx";
import { useTRPC } from "../../../../trpc/react.tsx";

type TStored = "accessKeyId" | "secretAccessKey" | "sessionToken" | "kubeconfig" | "token" | "text";

/** A write-only field: empty keeps the stored value, which is never sent to the page. */
function SecretField(props: {
  name: TStored;
  label: string;
  stored: boolean;
  multiline?: boolean;
  /** Offer to remove the stored value (optional secrets only). */
  removable?: boolean;
}) {
  const id = `edit-${props.name}`;
  const hint = props.stored
    ? "Stored, never shown. Leave empty to keep it; type a new value to replace it."
    : "Not set.";
  const common = {
    id,
    name: props.name,
    className: "fp-input fp-mono",
    autoComplete: "off",
    spellCheck: false,
    "aria-describedby": `${id}-hint`,
    placeholder: props.stored ? "•••••••• (stored)" : "",
    "data-secret": true,
  };
  return (
    <Field id={id} label={props.label} hint={hint}>
      {props.multiline ? <textarea rows={4} {...common} /> : <input type="password" {...common} />}
      {props.removable && props.stored && (
        <label className="fp-muted">
          <input type="checkbox" name={`remove-${props.name}`} /> remove the stored value
        </label>
      )}
    </Field>
  );
}

function TextField(props: {
  name: string;
  label: string;
  value: string | number | null | undefined;
  hint?: string;
  multiline?: boolean;
  type?: string;
  placeholder?: string;
}): ReactNode {
  const id = `edit-${props.name}`;
  const common = {
    id,
    name: props.name,
    className: props.multiline ? "fp-input fp-mono" : "fp-input",
    defaultValue: props.value ?? "",
    placeholder: props.placeholder,
    ...(props.hint ? { "aria-describedby": `${id}-hint` } : {}),
  };
  return (
    <Field id={id} label={props.label} {...(props.hint ? { hint: props.hint } : {})}>
      {props.multiline ? (
        <textarea rows={3} spellCheck={false} {...common} />
      ) : (
        <input type={props.type ?? "text"} {...common} />
      )}
    </Field>
  );
}

/** "vpc-1=100, vpc-2=200" → { "vpc-1": 100, "vpc-2": 200 }; a string names the bad part. */
function parseTunnelIds(text: string): Record<string, number> | string {
  const out: Record<string, number> = {};
  for (const part of text
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([^=\s]+)\s*=\s*(\d+)$/.exec(part);
    if (!m?.[1] || !m[2]) return `tunnelIds: “${part}” is not vpc-id=number`;
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Edits one account: its name, settings (shown, from the opened sealed object) and credentials
 * (write-only: empty keeps the stored ones). Secrets typed here are cleared once saved.
 */
export function EditCloudAccountForm(props: { orgSlug: string; accountId: string; onClose: () => void }) {
  const { orgSlug, accountId } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [localError, setLocalError] = useState<string | null>(null);
  const detail = useQuery({ ...trpc.clouds.detail.queryOptions({ orgSlug, accountId }), staleTime: 0 });
  const update = useMutation(
    trpc.clouds.update.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.clouds.pathFilter()),
    }),
  );
  if (detail.isPending)
    return (
      <p className="fp-loading" role="status">
        Loading the account…
      </p>
    );
  if (!detail.data) return <ErrorAlert error={detail.error} />;
  const d = detail.data;
  const s = d.settings;
  const stored = new Set<string>(d.stored);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setLocalError(null);
    const formEl = event.currentTarget;
    const f = new FormData(formEl);
    const get = (k: string) => String(f.get(k) ?? "").trim();
    const raw = (k: string) => String(f.get(k) ?? "");
    // A cleared optional setting is removed (null) when the stored ones were shown, kept otherwise.
    const opt = (k: string) => get(k) || (s ? null : undefined);
    const secret = (k: string) => (f.get(`remove-${k}`) ? null : raw(k));
    const base = { orgSlug, accountId, name: get("name") };
    let input: Parameters<typeof update.mutate>[0];
    if (d.kind === "aws") {
      const tunnelIds = parseTunnelIds(get("tunnelIds"));
      if (typeof tunnelIds === "string") return setLocalError(tunnelIds);
      const regions = get("regions")
        .split(/[\s,]+/)
        .filter(Boolean);
      input = {
        ...base,
        kind: "aws",
        accessKeyId: raw("accessKeyId"),
        secretAccessKey: raw("secretAccessKey"),
        sessionToken: secret("sessionToken"),
        ...(get("homeRegion") ? { homeRegion: get("homeRegion") } : {}),
        regions: regions.length ? regions : s ? null : undefined,
        endpoint: opt("endpoint"),
        ...(s || get("tunnelIds") ? { tunnelIds } : {}),
      };
    } else if (d.kind === "kubernetes") {
      input = {
        ...base,
        kind: "kubernetes",
        kubeconfig: secret("kubeconfig"),
        token: secret("token"),
        server: opt("server"),
        caData: opt("caData"),
        vpc: opt("vpc"),
        skipTLSVerify: f.get("skipTLSVerify") === "on",
        ...(get("pageSize") ? { pageSize: Number(get("pageSize")) } : {}),
      };
    } else if (d.kind === "manual") {
      input = { ...base, kind: "manual", format: get("format") as "csv" | "json", text: raw("text") };
    } else input = { ...base, kind: "agents" };
    update.mutate(input, {
      onSuccess: () => {
        // Only the secrets are cleared: the settings fields show what was saved.
        for (const el of formEl.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("[data-secret]"))
          el.value = "";
      },
    });
  }

  return (
    <Card title={`Edit ${d.name}`}>
      <form
        className="fp-stack"
        onSubmit={onSubmit}
        noValidate
        aria-label={`Edit ${d.name}`}
        // New defaults after a save come with a new key, so the fields show what was saved.
        key={JSON.stringify([d.name, s])}
      >
        {!s && d.kind !== "agents" && (
          <div className="fp-alert fp-alert-info" role="status">
            The stored settings cannot be read here (the console's FLOWPLANE_SECRETS_KEY is missing or is not
            the key they were sealed with). Renaming works; to change anything else, give every field.
          </div>
        )}
        <TextField name="name" label="Name" value={d.name} />
        {d.kind === "aws" && (
          <>
            <SecretField name="accessKeyId" label="Access key id" stored={stored.has("accessKeyId")} />
            <SecretField
              name="secretAccessKey"
              label="Secret access key"
              stored={stored.has("secretAccessKey")}
            />
            <SecretField
              name="sessionToken"
              label="Session token (temporary credentials)"
              stored={stored.has("sessionToken")}
              removable
            />
            <TextField
              name="homeRegion"
              label="Home region"
              value={s?.kind === "aws" ? s.homeRegion : ""}
              placeholder="us-east-1"
            />
            <TextField
              name="regions"
              label="Regions"
              value={s?.kind === "aws" ? (s.regions ?? []).join(", ") : ""}
              hint="Comma separated. Empty: every region the account has enabled."
            />
            <TextField
              name="endpoint"
              label="Endpoint"
              value={s?.kind === "aws" ? s.endpoint : ""}
              hint="Empty: AWS's own endpoints. A private or test endpoint otherwise."
            />
            <TextField
              name="tunnelIds"
              label="Tunnel ids of VPCs"
              value={
                s?.kind === "aws"
                  ? Object.entries(s.tunnelIds)
                      .map(([vpc, id]) => `${vpc}=${id}`)
                      .join(", ")
                  : ""
              }
              hint="vpc-id=VNI pairs, comma separated: tells overlapping ranges apart in tunnelled traffic."
            />
          </>
        )}
        {d.kind === "kubernetes" && (
          <>
            <TextField
              name="server"
              label="API server URL"
              value={s?.kind === "kubernetes" ? s.server : ""}
              placeholder="https://k8s.example:6443"
            />
            <TextField
              name="caData"
              label="CA certificate (base64)"
              value={s?.kind === "kubernetes" ? s.caData : ""}
              multiline
            />
            <label>
              <input
                type="checkbox"
                name="skipTLSVerify"
                defaultChecked={s?.kind === "kubernetes" && s.skipTLSVerify}
              />{" "}
              Skip TLS verification
            </label>
            <TextField
              name="vpc"
              label="VPC of the cluster"
              value={s?.kind === "kubernetes" ? s.vpc : ""}
              hint="External id of the VPC its nodes and pods live in (any account of this organization)."
            />
            <TextField
              name="pageSize"
              label="Page size"
              type="number"
              value={s?.kind === "kubernetes" ? s.pageSize : ""}
            />
            <SecretField name="token" label="Bearer token" stored={stored.has("token")} removable />
            <SecretField
              name="kubeconfig"
              label="Kubeconfig (used instead of the fields above when set)"
              stored={stored.has("kubeconfig")}
              multiline
              removable
            />
          </>
        )}
        {d.kind === "manual" && (
          <>
            <Field id="edit-format" label="Format">
              <select
                id="edit-format"
                name="format"
                className="fp-input"
                defaultValue={s?.kind === "manual" ? s.format : "csv"}
              >
                <option value="csv">CSV</option>
                <option value="json">JSON</option>
              </select>
            </Field>
            <Field
              id="edit-text"
              label="Resources"
              hint={
                s?.kind === "manual"
                  ? `Stored: ${s.resources.toLocaleString("en-US")} resources (${s.format.toUpperCase()}). Leave empty to keep them; paste a whole document to replace them.`
                  : "Paste the whole document."
              }
            >
              <textarea
                id="edit-text"
                name="text"
                className="fp-input fp-mono"
                rows={6}
                spellCheck={false}
                aria-describedby="edit-text-hint"
                data-secret
              />
            </Field>
          </>
        )}
        <div className="fp-form-inline">
          <Button type="submit" disabled={update.isPending}>
            {update.isPending ? "Saving…" : "Save changes"}
          </Button>
          <Button type="button" variant="secondary" onClick={props.onClose}>
            Close
          </Button>
        </div>
        {localError && (
          <div className="fp-alert fp-alert-bad" role="alert">
            {localError}
          </div>
        )}
        <ErrorAlert error={update.error} />
        {update.data && !update.isPending && !update.error && (
          <div className="fp-alert fp-alert-info" role="status">
            Saved {update.data.name}. Secret fields left empty kept their stored values; use Sync now to try
            the change at once.
          </div>
        )}
      </form>
    </Card>
  );
}

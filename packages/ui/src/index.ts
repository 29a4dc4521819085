// The console's shared building blocks. Server-safe components render plain markup; the ones that
// hold state (DataTable) carry "use client" in their own file, so this barrel stays importable
// from server components.
export { Alert, type AlertTone } from "./Alert.tsx";
export { AppShell, type AppShellProps, type NavItem, NavList } from "./AppShell.tsx";
export * from "./analysis/index.ts";
export { Badge, type BadgeTone } from "./Badge.tsx";
export { Button, ButtonLink, type ButtonProps } from "./Button.tsx";
export { Card, Stat } from "./Card.tsx";
export { DataTable, type DataTableColumn, type DataTableRow } from "./DataTable.tsx";
export { EmptyState } from "./EmptyState.tsx";
export { Field } from "./Field.tsx";
export { type CellKind, formatCell } from "./format.ts";
export { SecretBox } from "./SecretBox.tsx";
export { type StateSpan, StateTimeline } from "./StateTimeline.tsx";

import { EmptyState } from "@flowplane/ui";

export default function NotFound() {
  return (
    <div className="fp-auth">
      <EmptyState title="Not found" action={<a href="/">Back to your organizations</a>}>
        This page does not exist, or you do not have access to it.
      </EmptyState>
    </div>
  );
}

/** Shown while an org page renders on the server. */
export default function Loading() {
  return (
    <div className="fp-loading" role="status" aria-live="polite">
      Loading…
    </div>
  );
}

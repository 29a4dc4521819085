"use client";

import { useRouter } from "next/navigation";
import { useTransition } from "react";

/**
 * After a mutation, re-render the page's server components so every list shows the new state
 * (the pages fetch on the server; there is no client cache to patch).
 */
export function useRefresh(): { refresh: () => void; refreshing: boolean } {
  const router = useRouter();
  const [refreshing, start] = useTransition();
  return { refresh: () => start(() => router.refresh()), refreshing };
}

import "@flowplane/ui/styles.css";
import type { Metadata } from "next";
import type { ReactNode } from "react";
import { TrpcReactProvider } from "../trpc/react.tsx";

export const metadata: Metadata = {
  title: { default: "Flowplane", template: "%s · Flowplane" },
  description: "Network observability control plane",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TrpcReactProvider>{children}</TrpcReactProvider>
      </body>
    </html>
  );
}

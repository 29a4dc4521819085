import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps) with node:crypto: small enough to own, and
// checked against the RFC's own test vectors (totp.test.ts).

const STEP_S = 30;
const DIGITS = 6;
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s=-]/g, "");
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new Error("not base32");
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code for one time step (HOTP of the step counter). */
export function hotp(key: Buffer, counter: number, digits = DIGITS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(msg).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, "0");
}

export function totp(secretBase32: string, atMs = Date.now(), digits = DIGITS): string {
  return hotp(base32Decode(secretBase32), Math.floor(atMs / 1000 / STEP_S), digits);
}

/** Accepts the code of the current step or one step either side (clock drift). */
export function verifyTotp(secretBase32: string, code: string, atMs = Date.now()): boolean {
  const clean = code.replace(/\s/g, "");
  if (!/^\d{6}$/.test(clean)) return false;
  const key = base32Decode(secretBase32);
  const step = Math.floor(atMs / 1000 / STEP_S);
  let ok = false;
  for (const d of [-1, 0, 1]) {
    // No early exit: every candidate is compared in constant time.
    ok = timingSafeEqual(Buffer.from(hotp(key, step + d)), Buffer.from(clean)) || ok;
  }
  return ok;
}

export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

export function otpauthUri(secretBase32: string, email: string): string {
  const label = encodeURIComponent(`Flowplane:${email}`);
  return `otpauth://totp/${label}?secret=${secretBase32}&issuer=Flowplane&algorithm=SHA1&digits=6&period=30`;
}

// users.totp_secret holds the secret encrypted (AES-256-GCM, key derived from the auth secret),
// so a database dump alone does not yield working second factors.
const keyOf = (authSecret: string) => createHash("sha256").update(`flowplane-totp:${authSecret}`).digest();

export function sealSecret(secretBase32: string, authSecret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyOf(authSecret), iv);
  const ct = Buffer.concat([cipher.update(secretBase32, "utf8"), cipher.final()]);
  return [
    "v1",
    iv.toString("base64url"),
    cipher.getAuthTag().toString("base64url"),
    ct.toString("base64url"),
  ].join(":");
}

export function openSecret(sealed: string, authSecret: string): string {
  const [v, iv, tag, ct] = sealed.split(":");
  if (v !== "v1" || !iv || !tag || !ct) throw new Error("unknown TOTP secret format");
  const decipher = createDecipheriv("aes-256-gcm", keyOf(authSecret), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
}

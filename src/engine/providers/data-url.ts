/**
 * `data:` URLs as RFC 2397 writes them: `data:[<media type>][;<parameter>…][;base64],<data>`.
 * The media type may carry parameters (`image/png;name=x.png`, `text/plain;charset=utf-8`)
 * before `;base64`, so a pattern expecting `;base64` right after the type takes such a URL for
 * something else (a remote URL, or bare base64).
 */

export interface DataUrl {
  /** The media type without its parameters, lower-cased; "" when the URL gives none. */
  mediaType: string;
  /** Whether the payload is base64 (`;base64`); otherwise it is percent-encoded. */
  base64: boolean;
  /** The payload after the first comma, as written. */
  data: string;
}

/** `url` split into its media type, encoding and payload; null when it is not a `data:` URL. */
export function parseDataUrl(url: string): DataUrl | null {
  if (url.slice(0, 5).toLowerCase() !== "data:") return null;
  const comma = url.indexOf(",");
  if (comma < 0) return null;
  // Parameter values are URL-encoded (RFC 2397), so the first comma ends the header.
  const header = url.slice(5, comma).split(";");
  const base64 = header.length > 1 && header.at(-1)?.trim().toLowerCase() === "base64";
  return { mediaType: (header[0] ?? "").trim().toLowerCase(), base64, data: url.slice(comma + 1) };
}

/** The payload's bytes: base64-decoded, or percent-decoded (an invalid escape is kept as written). */
export function dataUrlBytes(url: DataUrl): Buffer {
  if (url.base64) return Buffer.from(url.data, "base64");
  const bytes: number[] = [];
  const text = Buffer.from(url.data, "utf8");
  for (let i = 0; i < text.length; i++) {
    const byte = text[i] as number;
    const hex = byte === 0x25 ? text.toString("latin1", i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(byte);
  }
  return Buffer.from(bytes);
}

// Small helpers shared by the web map's modules.
import { authHeaders, askForToken } from './auth.js';

/// `text` with the HTML special characters escaped, for building markup.
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/// The parsed JSON at `url` (same origin), with the access token; on a 401 asks for a token and
/// tries again. Throws on any other HTTP error, or when the user cancels the token dialog.
export async function fetchJson(url) {
  for (;;) {
    const response = await fetch(url, { headers: authHeaders() });
    if (response.status === 401) {
      await askForToken();
      continue;
    }
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }
}

/// `url` (a path or query string, with or without '?') followed by more parameters `extra` ('c=d').
export function withParams(url, extra) {
  return `${url}${url.includes('?') ? '&' : '?'}${extra}`;
}

/// Saves `content` (a string or Blob) as a file named `filename` through the browser's download.
export function download(filename, content, type) {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

/// `name` in lower case without accents, so "Ménaka" and "menaka" compare equal.
export function foldName(name) {
  return String(name).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

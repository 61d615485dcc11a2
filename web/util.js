// Small helpers shared by the web map's modules.

/// `text` with the HTML special characters escaped, for building markup.
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/// The parsed JSON at `url` (same origin); throws on an HTTP error.
export async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
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

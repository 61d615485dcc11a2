// Access tokens: when the server answers 401 (it runs with `serve --read-access token`), a small
// dialog asks for a token, which stays in sessionStorage for the tab's life. Fetches send it as
// `Authorization: Bearer`, MapLibre's tile requests too (transformRequest); EventSource and download
// links, which cannot set headers, carry it as ?access_token=.
const KEY = 'sitmap.token';

/// The token of this tab, or ''.
export function token() {
  return sessionStorage.getItem(KEY) ?? '';
}

/// The request headers that authenticate a fetch ({} without a token).
export function authHeaders() {
  return token() ? { Authorization: `Bearer ${token()}` } : {};
}

/// `url` (same origin) with ?access_token= added when there is a token.
export function withToken(url) {
  if (!token()) return url;
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token())}`;
}

/// MapLibre's transformRequest: the token header on requests to this origin only.
export function transformRequest(url) {
  if (!token() || !url.startsWith(`${location.origin}/`)) return { url };
  return { url, headers: authHeaders() };
}

let asking = null;

/// Shows the token dialog (once, however many requests were refused at the same time). Resolves
/// when a token was entered and stored; rejects when the user cancels.
export function askForToken() {
  asking ??= new Promise((resolve, reject) => {
    const dialog = document.createElement('dialog');
    dialog.id = 'token-dialog';
    dialog.innerHTML = `<form method="dialog">
      <h2>Access token needed</h2>
      <p>${token() ? 'The server refused the token of this tab.' : 'This server shows its data to authorised users only.'}
        Paste the access token you were given (it stays in this tab only).</p>
      <input name="token" type="password" autocomplete="off" required aria-label="Access token" placeholder="sm_…">
      <p class="buttons"><button value="cancel" formnovalidate>Cancel</button> <button value="ok">Use token</button></p>
    </form>`;
    document.body.append(dialog);
    dialog.addEventListener('close', () => {
      const value = dialog.querySelector('input').value.trim();
      dialog.remove();
      if (dialog.returnValue === 'ok' && value) {
        sessionStorage.setItem(KEY, value);
        resolve();
      } else {
        reject(new Error('no access token given'));
      }
    });
    dialog.showModal();
  }).finally(() => { asking = null; });
  return asking;
}

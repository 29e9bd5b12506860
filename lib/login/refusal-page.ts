const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What a refused page load is told, by status. */
const TEXTS: Record<number, { title: string; text: string }> = {
  403: { title: 'You may not open this page', text: 'You are logged in, but your account lacks the permission this page needs.' },
  503: { title: 'Try again in a moment', text: 'The login service cannot be reached right now, so this page cannot be checked.' },
};

/**
 * The small HTML page a browser gets instead of a JSON error when a page route refuses it: what
 * happened and a way back (home, and the login route to switch user or retry).
 *
 * @param page the refused page, a safe same-site path (see `sanitizeReturnTo`).
 * @param loginPath the login route, to log in as someone else and come back to `page`.
 * @param reason the refusal's own message (e.g. the permission that is missing), shown escaped.
 */
export function refusalPage(status: 403 | 503, page: string, loginPath: string, reason?: string): string {
  const { title, text } = TEXTS[status];
  const action = status === 403 ? 'Log in as someone else' : 'Try again';
  const retry = status === 403 ? `${loginPath}?returnTo=${encodeURIComponent(page)}` : page;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto">
<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${reason ? `<p id="reason">${escapeHtml(reason.slice(0, 300))}</p>` : ''}
<p><a id="home" href="/">Home</a> · <a id="retry" href="${escapeHtml(retry)}">${escapeHtml(action)}</a></p>
</body></html>`;
}

import type { FiefDevUser } from './dev-server-types.js';

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The dev server's login page: a person picks one of the tenant's users. */
export function renderLoginPage(options: { action: string; users: readonly FiefDevUser[]; unknown?: string }): string {
  const buttons = options.users
    .map(
      (user) => `<li><button type="submit" name="email" value="${escapeHtml(user.email)}">Sign in as ${escapeHtml(user.email)}</button>
      <small>${escapeHtml((user.permissions ?? []).join(', ') || 'no permissions')}</small></li>`,
    )
    .join('\n');
  const warning = options.unknown ? `<p role="alert">No user ${escapeHtml(options.unknown)} in this tenant.</p>` : '';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Fief dev server — sign in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto}li{list-style:none;margin:.75rem 0}
button{font-size:1rem;padding:.5rem 1rem;cursor:pointer}small{display:block;color:#666;margin-top:.25rem}</style></head>
<body>
<h1>Fief dev server</h1>
<p>Choose a user to sign in with. This server is for development and tests only.</p>
${warning}
<form method="post" action="${escapeHtml(options.action)}"><ul>
${buttons}
</ul></form>
</body>
</html>`;
}

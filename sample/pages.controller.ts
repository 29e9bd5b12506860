import { Controller, Get, Header } from '@nestjs/common';
import { CurrentUser, LoginRedirect, OptionalAuth, Permissions } from '../lib/index.js';
import type { FiefUserInfo } from '../lib/index.js';

const escapeHtml = (value: unknown) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — nestjs-fief sample</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto}nav a{margin-right:1rem}</style></head>
<body><nav><a href="/">Home</a><a href="/pages/castles">Castles</a><a href="/pages/castles/build">Build a castle</a></nav>
<h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * The sample's web pages, logged in through the login flow's session cookie. Logged-out browsers
 * are sent to Fief and back (`@LoginRedirect()`); a missing permission is a 403 page with a way
 * back: anne (`castles:create`) may build a castle, guest (`castles:read` only) may not.
 */
@Controller()
export class PagesController {
  @Get()
  @OptionalAuth()
  @Header('Content-Type', 'text/html; charset=utf-8')
  home(@CurrentUser() user?: FiefUserInfo): string {
    if (!user) return page('Castles of Brittany', '<p>You are not logged in.</p><p><a id="login" href="/auth/login">Log in</a></p>');
    const fields = Object.entries(user.fields ?? {})
      .map(([slug, value]) => `<li>${escapeHtml(slug)}: ${escapeHtml(value)}</li>`)
      .join('');
    return page(
      'Castles of Brittany',
      `<p>Logged in as <strong id="email">${escapeHtml(user.email)}</strong></p><ul id="fields">${fields}</ul>
<p><a id="logout" href="/auth/logout">Log out</a></p>`,
    );
  }

  @Get('pages/castles')
  @Permissions('castles:read')
  @LoginRedirect()
  @Header('Content-Type', 'text/html; charset=utf-8')
  castles(): string {
    return page('Castles', '<ul><li>Château des ducs de Bretagne</li><li>Fort la Latte</li></ul>');
  }

  @Get('pages/castles/build')
  @Permissions('castles:create')
  @LoginRedirect()
  @Header('Content-Type', 'text/html; charset=utf-8')
  build(@CurrentUser() user: FiefUserInfo): string {
    return page('Build a castle', `<p id="builder">${escapeHtml(user.email)} may build castles here.</p>`);
  }
}

// One session check for every page and form action (socket.io and Yjs use the same functions in
// realtime/authenticate.ts). A session that still owes its second factor reaches only /2fa.
// Every answer gets the security headers; a form body that cannot be read is a 400, never a 500.
import { json, redirect, type Handle, type HandleServerError, type RequestEvent } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { SESSION_COOKIE, sessionCookieOptions, validateSessionToken } from '$lib/server/auth/session';
import { requiresTwoFactor } from '$lib/server/access/policy';
import { log } from '$lib/server/log';
import { applySecurityHeaders } from '$lib/server/security-headers';
import { messages, type Locale } from '$lib/i18n';

// A calendar feed is read by a phone's calendar app, without a session: its URL's token is the credential.
const PUBLIC = [/^\/login$/, /^\/invitation\/[^/]+$/, /^\/healthz$/, /^\/favicon/, /^\/logout$/, /^\/calendrier\/[^/]+$/];
const TWO_FACTOR = [/^\/2fa(\/setup)?$/, /^\/logout$/];

// The product speaks French; English only for whoever chose it (profile or `lang` cookie).
function preferredLocale(cookie: string | undefined): Locale {
	return cookie === 'en' ? 'en' : 'fr';
}

export const handle: Handle = async ({ event, resolve }) => {
	const { locals, cookies, url } = event;
	locals.user = null;
	locals.session = null;
	locals.actor = null;
	locals.locale = preferredLocale(cookies.get('lang'));
	if (crossSiteForm(event)) return withSecurityHeaders(refuse(event, 403, messages(locals.locale).common.crossSite));

	const token = cookies.get(SESSION_COOKIE);
	let owesSecondFactor = false;
	if (token) {
		const db = getDb();
		const { session, user, actor } = await validateSessionToken(db, token);
		if (session) {
			cookies.set(SESSION_COOKIE, token, sessionCookieOptions(session.expiresAt, url.protocol === 'https:'));
			locals.session = session;
			locals.user = user;
			locals.locale = user.locale;
			owesSecondFactor = (user.twoFactorEnabled || requiresTwoFactor(actor)) && !session.twoFactorVerified;
			if (!owesSecondFactor) locals.actor = actor;
		} else {
			cookies.delete(SESSION_COOKIE, { path: '/' });
		}
	}

	const path = url.pathname;
	if (owesSecondFactor) {
		if (!TWO_FACTOR.some((r) => r.test(path))) {
			redirect(303, locals.user!.twoFactorEnabled ? '/2fa' : '/2fa/setup');
		}
	} else if (!locals.actor && !PUBLIC.some((r) => r.test(path)) && !path.startsWith('/_app/')) {
		const target = path === '/' ? '' : `?redirectTo=${encodeURIComponent(path + url.search)}`;
		redirect(303, `/login${target}`);
	}

	const refused = await checkFormPost(event);
	const response = refused ?? (await resolve(event, { transformPageChunk: ({ html }) => html.replace('%lang%', locals.locale) }));
	// SvelteKit answers a method a route does not have in English ("POST method not allowed").
	if (response.status === 405) {
		const refusal = refuse(event, 405, messages(locals.locale).common.methodNotAllowed);
		const allow = response.headers.get('allow');
		if (allow) refusal.headers.set('allow', allow);
		return withSecurityHeaders(refusal);
	}
	return withSecurityHeaders(response);
};

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * A state-changing request with a body a plain HTML form can send (so another site can make a
 * browser send it with our cookies) that does not come from this origin: refused before anything
 * runs, sign-in included. SvelteKit's equivalent check is off (svelte.config.js) only because it
 * answers in English; this one covers the same methods and types.
 */
function crossSiteForm({ request, url }: RequestEvent): boolean {
	if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(request.method)) return false;
	const type = contentType(request);
	if (!FORM_TYPES.includes(type) && type !== 'application/x-sveltekit-formdata') return false;
	return request.headers.get('origin') !== url.origin;
}

/** The request's media type, lower case, without parameters ('' when none). */
function contentType(request: Request): string {
	return request.headers.get('content-type')?.split(';')[0].trim().toLowerCase() ?? '';
}

/**
 * A form post is read here, once, before any action runs: a body that cannot be parsed (broken
 * multipart, text/plain) is refused with a French 400 and changes nothing, even for actions that
 * never read their body; the action then reads the same parsed form. An action name inherited from
 * Object.prototype (`?/__proto__`, `?/constructor`) would make SvelteKit call something that is
 * not an action: unknown, 404.
 */
async function checkFormPost(event: RequestEvent): Promise<Response | null> {
	const { request, url, locals } = event;
	if (request.method !== 'POST') return null;
	const t = messages(locals.locale);
	const action = [...url.searchParams.keys()].find((k) => k.startsWith('/'))?.slice(1);
	if (action !== undefined && action in Object.prototype) return refuse(event, 404, t.common.notFound);
	const type = contentType(request);
	if (!FORM_TYPES.includes(type)) return null;
	let form: FormData;
	try {
		form = type === 'application/x-www-form-urlencoded' ? urlencoded(new Uint8Array(await request.arrayBuffer())) : await request.formData();
	} catch (error) {
		// adapter-node aborts a body over BODY_SIZE_LIMIT with a 413 of its own.
		const status = (error as { cause?: { status?: number } })?.cause?.status === 413 || (error as { status?: number })?.status === 413 ? 413 : 400;
		return refuse(event, status, status === 413 ? t.common.tooLarge : t.common.badRequest);
	}
	Object.defineProperty(request, 'formData', { value: () => Promise.resolve(form) });
	return null;
}

/**
 * A urlencoded body, read strictly: browsers send ASCII with well-formed %XX escapes of UTF-8.
 * The standard parser would quietly turn a stray '%' or invalid UTF-8 (a lone surrogate encoded
 * as %ED%A0%80) into text; here it is a malformed request (throws).
 */
function urlencoded(bytes: Uint8Array): FormData {
	if (bytes.some((b) => b > 0x7e || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d))) throw new TypeError('not urlencoded');
	const body = new TextDecoder().decode(bytes);
	if (/%(?![0-9a-fA-F]{2})/.test(body)) throw new TypeError('bad escape');
	const form = new FormData();
	for (const pair of body.split('&')) {
		if (!pair) continue;
		const at = pair.indexOf('=');
		const [name, value] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
		// decodeURIComponent throws on invalid UTF-8 and on encoded surrogates.
		form.append(decodeURIComponent(name.replaceAll('+', ' ')), decodeURIComponent(value.replaceAll('+', ' ')));
	}
	return form;
}

/** A refusal in the form the caller understands: an ActionResult for `use:enhance`, else a page. */
function refuse({ request, locals }: RequestEvent, status: number, message: string): Response {
	if (request.headers.get('accept')?.includes('application/json')) return json({ type: 'error', error: { message } }, { status });
	const home = messages(locals.locale).common.backHome;
	const page = `<!doctype html><html lang="${locals.locale}"><head><meta charset="utf-8"><title>${escapeHtml(message)}</title></head><body><h1>${escapeHtml(message)}</h1><p><a href="/">${escapeHtml(home)}</a></p></body></html>`;
	return new Response(page, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" } });
}

function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function withSecurityHeaders(response: Response): Response {
	try {
		applySecurityHeaders(response.headers);
		return response;
	} catch {
		// Immutable headers (a response passed through from fetch): copy it.
		const copy = new Response(response.body, response);
		applySecurityHeaders(copy.headers);
		return copy;
	}
}

export const handleError: HandleServerError = ({ error, event, status }) => {
	if (status >= 500) log('error', 'request failed', { path: event.url.pathname, status, error: String(error) });
	// SvelteKit's own refusals (a URL that does not decode, a method or type an action does not
	// take) are the client's fault: say so, in the user's language, not "server error".
	const t = messages(event.locals?.locale ?? 'fr');
	return { message: status === 404 ? t.common.notFound : status < 500 ? t.common.badRequest : 'Erreur serveur' };
};

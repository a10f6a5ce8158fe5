// One session check for every page and form action (socket.io and Yjs use the same functions in
// realtime/authenticate.ts). A session that still owes its second factor reaches only /2fa.
import { redirect, type Handle, type HandleServerError } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { SESSION_COOKIE, sessionCookieOptions, validateSessionToken } from '$lib/server/auth/session';
import { loadActor, requiresTwoFactor } from '$lib/server/access/policy';
import { log } from '$lib/server/log';
import type { Locale } from '$lib/i18n';

const PUBLIC = [/^\/login$/, /^\/invitation\/[^/]+$/, /^\/healthz$/, /^\/favicon/, /^\/logout$/];
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

	const token = cookies.get(SESSION_COOKIE);
	let owesSecondFactor = false;
	if (token) {
		const db = getDb();
		const { session, user } = await validateSessionToken(db, token);
		if (session) {
			cookies.set(SESSION_COOKIE, token, sessionCookieOptions(session.expiresAt, url.protocol === 'https:'));
			locals.session = session;
			locals.user = user;
			locals.locale = user.locale;
			const actor = await loadActor(db, user.id);
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

	return resolve(event, {
		transformPageChunk: ({ html }) => html.replace('%lang%', locals.locale)
	});
};

export const handleError: HandleServerError = ({ error, event, status }) => {
	if (status >= 500) log('error', 'request failed', { path: event.url.pathname, status, error: String(error) });
	return { message: status === 404 ? 'Page introuvable' : 'Erreur serveur' };
};

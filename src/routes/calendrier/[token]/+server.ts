// A private calendar feed (booking/calendar-feed.ts): no session, the secret token in the URL is the
// credential. Unknown or revoked: 404, the same answer as for a URL that never existed. Throttled:
// 429 with Retry-After.
import { getDb } from '$lib/server/db';
import { readFeed } from '$lib/server/booking/calendar-feed';
import { auditContext } from '$lib/server/request';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	// Calendar apps like a name ending in .ics; both forms open the same feed.
	const token = event.params.token.replace(/\.ics$/, '');
	const { ip, userAgent } = auditContext(event);
	const read = await readFeed(getDb(), { ip: ip ?? null, userAgent }, token);
	const noStore = { 'cache-control': 'private, no-store', 'referrer-policy': 'no-referrer', 'x-robots-tag': 'noindex' };
	if (read.status === 'not_found') return new Response('Agenda introuvable', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', ...noStore } });
	if (read.status === 'throttled') {
		const seconds = Math.max(1, Math.ceil((read.retryAt.getTime() - Date.now()) / 1000));
		return new Response('Trop de demandes : réessayez plus tard.', { status: 429, headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(seconds), ...noStore } });
	}
	return new Response(read.ics, {
		headers: { 'content-type': 'text/calendar; charset=utf-8', 'content-disposition': 'inline; filename="agenda.ics"', ...noStore }
	});
};

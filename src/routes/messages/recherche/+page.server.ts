import { getDb } from '$lib/server/db';
import { auditContext, requireActor } from '$lib/server/request';
import { searchMessages } from '$lib/server/messaging/search';

// Searching one's conversations: a plain GET form (?q=…), so a search can be bookmarked, shared
// with oneself, and works without JavaScript. Excerpts of patient threads are audited reads.
export async function load(event) {
	const { user, actor } = requireActor(event);
	const q = event.url.searchParams.get('q');
	if (q === null) return { q: '', results: null, error: null };
	const outcome = await searchMessages(getDb(), actor, q, { ctx: { ...auditContext(event), actorId: user.id } });
	return outcome.ok ? { q, results: outcome.results, error: null } : { q, results: null, error: outcome.error };
}

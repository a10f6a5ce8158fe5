// A link shared in a thread (messaging/links.ts): sends whoever may follow it to the page itself,
// where their access is checked again; anything else is the same 404 as a link that does not exist.
import { error, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { linkTarget } from '$lib/server/messaging/links';
import { requireActor } from '$lib/server/request';

export async function load(event) {
	const { actor } = requireActor(event);
	const target = await linkTarget(getDb(), actor, event.params.type, event.params.id);
	if (!target) error(404, { message: 'Page introuvable' });
	redirect(303, target);
}

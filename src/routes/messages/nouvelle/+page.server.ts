import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { directory, startDirect, startGroup } from '$lib/server/messaging/conversations';
import { requireActor } from '$lib/server/request';
import { formError, id, parseForm, text } from '$lib/server/forms';

export async function load(event) {
	const { actor } = requireActor(event);
	const people = await directory(getDb(), actor);
	return { people: people.map((p) => ({ id: p.id, name: `${p.first_name} ${p.last_name}`, profession: p.profession })) };
}

const directForm = z.object({ member: id() });
// At most as many as a group may hold; startGroup checks each one (shares a microstructure or a network).
const groupForm = z.object({ title: text(80), members: z.array(id()).max(30, { error: 'errors.invalid' }) });

export const actions = {
	direct: async (event) => {
		const { actor } = requireActor(event);
		const parsed = parseForm(directForm, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const started = await startDirect(getDb(), actor, parsed.data.member);
		if (!started.ok) return formError(400, started.error, {}, { member: started.error });
		redirect(303, `/messages/${started.id}`);
	},
	group: async (event) => {
		const { actor } = requireActor(event);
		const form = await event.request.formData();
		const parsed = parseForm(groupForm, form, event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const started = await startGroup(getDb(), actor, parsed.data.title, parsed.data.members);
		if (!started.ok) return formError(400, started.error, { title: parsed.data.title }, { members: started.error });
		redirect(303, `/messages/${started.id}`);
	}
};


import { loadMessages } from '$lib/i18n/core';

// The person's language is ready before any page renders (the browser fetches English on demand).
export async function load({ data }) {
	await loadMessages(data.locale);
	return data;
}

/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
// The service worker does two things only: show a push ("Nouveau message dans Microstructures",
// never any content — the server sends nothing else) and open the messages when it is clicked.
// No fetch handler and no cache: pages hold patient data and must never be kept by the browser.
const sw = self as unknown as ServiceWorkerGlobalScope;

const FALLBACK = { title: 'Microstructures', body: 'Nouveau message dans Microstructures', url: '/messages' };

/** Only a path of this app is ever opened. */
function safePath(url: unknown): string {
	return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : FALLBACK.url;
}

sw.addEventListener('install', () => {
	void sw.skipWaiting();
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(sw.clients.claim());
});

sw.addEventListener('push', (event) => {
	let data: Partial<typeof FALLBACK> = {};
	try {
		data = event.data?.json() ?? {};
	} catch {
		data = {};
	}
	event.waitUntil(
		sw.registration.showNotification(typeof data.title === 'string' ? data.title : FALLBACK.title, {
			body: typeof data.body === 'string' ? data.body : FALLBACK.body,
			// One notification at a time: a new one replaces the last instead of piling up.
			tag: 'microstructures-messages',
			data: { url: safePath(data.url) }
		})
	);
});

sw.addEventListener('notificationclick', (event) => {
	event.notification.close();
	const path = safePath((event.notification.data as { url?: unknown } | null)?.url);
	event.waitUntil(
		(async () => {
			const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
			for (const client of windows) {
				if (new URL(client.url).origin === sw.location.origin) {
					await client.focus();
					if ('navigate' in client) await (client as WindowClient).navigate(path).catch(() => null);
					return;
				}
			}
			await sw.clients.openWindow(path);
		})()
	);
});

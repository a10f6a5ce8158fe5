// A Y.Text shared through the server's y-websocket endpoint (team notes, a case's notes in an RCP),
// bound to a <textarea> with `bindText` (text-binding.ts). When the server refuses an edit (too
// long), the replica starts over from the server's document and the reason is kept for the page.
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { trackSaves } from './save-state';
import { rememberPeersAcrossReconnections } from './peers';

export type SyncStatus = 'connecting' | 'connected' | 'offline';

export function sharedText(docName: string, field = 'notes') {
	let status = $state<SyncStatus>('connecting');
	let synced = $state(false);
	let text = $state.raw<Y.Text>(new Y.Doc().getText(field));
	let refused = $state<string | null>(null);
	let stop: () => void = () => {};

	function start() {
		const doc = new Y.Doc();
		const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/yjs`;
		// Notes show no carets (who is online comes from socket.io): no awareness state, so an open
		// connection does not renew an empty state every 15 s, which the server would relay to every
		// other reader (an RCP keeps one per case open). But y-websocket closes and reopens a connection
		// that has received nothing for 30 s: every 20 s it asks the server for what it lacks instead
		// (one small answer from memory, to this reader only), so an idle case's notes stay connected.
		const provider = new WebsocketProvider(url, docName, doc, { maxBackoffTime: 5000, resyncInterval: 20_000 });
		provider.awareness.setLocalState(null);
		rememberPeersAcrossReconnections(provider);
		// The team notes need no save indicator; a refusal resets the replica.
		const saves = trackSaves(doc, provider, () => {}, (reason) => {
			refused = reason;
			queueMicrotask(restart);
		});
		provider.on('status', (e: { status: string }) => {
			status = e.status === 'connected' ? 'connected' : e.status === 'connecting' ? 'connecting' : 'offline';
		});
		provider.on('sync', (isSynced: boolean) => {
			synced = isSynced;
		});
		synced = false;
		text = doc.getText(field);
		stop = () => {
			saves.destroy();
			provider.destroy();
			doc.destroy();
		};
	}
	function restart() {
		stop();
		start();
	}
	start();

	return {
		get status() {
			return status;
		},
		get synced() {
			return synced;
		},
		get text() {
			return text;
		},
		/** Why the server refused the last edit, until the person edits again. */
		get refused() {
			return refused;
		},
		clearRefusal() {
			refused = null;
		},
		destroy() {
			stop();
		}
	};
}

export type SharedText = ReturnType<typeof sharedText>;

/**
 * Shared texts kept open once shown, for a page that switches between several (the case notes of
 * an RCP, one per case, followed by the pointer): coming back to a case reuses its connection
 * instead of authorising and syncing a new one, so a pointer move costs the server nothing, and
 * an edit still in flight when the pointer moves is not cut off. All close with the page.
 */
export function sharedTexts(field = 'notes') {
	const open = new Map<string, SharedText>();
	return {
		get(docName: string): SharedText {
			let shared = open.get(docName);
			if (!shared) {
				shared = sharedText(docName, field);
				open.set(docName, shared);
			}
			return shared;
		},
		destroy() {
			for (const shared of open.values()) shared.destroy();
			open.clear();
		}
	};
}

// Sends what the outbox holds: one message at a time per conversation, in the order written, each
// removed from the outbox only once the server's acknowledgement says it is stored (a duplicate
// acknowledgement — the server already had that client id — counts as stored). Flushed when the
// layout starts (page load), on every socket (re)connection and when the browser is back online.
import { getSocket } from '$lib/realtime/socket';
import { TOO_MANY_EVENTS } from '$lib/realtime/limits';
import { entriesOf, putEntry, removeEntry, type OutboxEntry } from './outbox';
import { request } from './request';
import type { MessageLink, MessagePayload } from './types';

export interface PendingMessage extends OutboxEntry {
	sending: boolean;
}

type Listener = (message: MessagePayload) => void;

/** How long to wait for an acknowledgement before trying again (the server commits first). */
const ACK_TIMEOUT_MS = 10_000;
const RETRY_MS = 2_000;

class Sender {
	pending = $state<PendingMessage[]>([]);
	online = $state(true);
	/** The outbox could not be written (private browsing, storage full): messages are sent, not kept. */
	storageFailed = $state(false);
	#userId: string | null = null;
	#flushing = new Set<string>();
	#listeners = new Set<Listener>();
	#retryTimer: ReturnType<typeof setTimeout> | undefined;

	/** Called once by the layout for the signed-in person. */
	async start(userId: string): Promise<() => void> {
		if (this.#userId === userId) return () => {};
		this.#userId = userId;
		this.online = navigator.onLine;
		const socket = getSocket();
		const flush = () => this.flushAll();
		const online = () => {
			this.online = true;
			flush();
		};
		const offline = () => (this.online = false);
		socket.on('connect', flush);
		window.addEventListener('online', online);
		window.addEventListener('offline', offline);
		try {
			const stored = await entriesOf(userId);
			const known = new Set(this.pending.map((p) => p.clientId));
			this.pending = [...this.pending, ...stored.filter((e) => !known.has(e.clientId)).map((e) => ({ ...e, sending: false }))].sort((a, b) => a.createdAt - b.createdAt);
		} catch {
			this.storageFailed = true;
		}
		flush();
		return () => {
			this.#userId = null;
			this.pending = [];
			socket.off('connect', flush);
			window.removeEventListener('online', online);
			window.removeEventListener('offline', offline);
		};
	}

	/** A stored message reached this tab through its acknowledgement. */
	onStored(listener: Listener): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** Writes the message to the outbox, then sends it (now, or when the connection allows). */
	async enqueue(conversationId: string, body: string, link: MessageLink | null = null, mentions: string[] = []): Promise<void> {
		if (!this.#userId) return;
		const entry: OutboxEntry = { clientId: crypto.randomUUID(), userId: this.#userId, conversationId, body, link, mentions: [...mentions], createdAt: Date.now(), error: null };
		try {
			await putEntry(entry);
		} catch {
			this.storageFailed = true;
		}
		this.pending = [...this.pending, { ...entry, sending: false }];
		void this.flush(conversationId);
	}

	async retry(clientId: string): Promise<void> {
		const entry = this.pending.find((p) => p.clientId === clientId);
		if (!entry) return;
		this.#update(clientId, { error: null });
		await putEntry({ ...this.#plain(entry), error: null }).catch(() => {});
		void this.flush(entry.conversationId);
	}

	async discard(clientId: string): Promise<void> {
		this.pending = this.pending.filter((p) => p.clientId !== clientId);
		await removeEntry(clientId).catch(() => {});
	}

	flushAll(): void {
		for (const id of new Set(this.pending.map((p) => p.conversationId))) void this.flush(id);
	}

	/** Sends this conversation's waiting messages in order, one at a time. */
	async flush(conversationId: string): Promise<void> {
		if (this.#flushing.has(conversationId)) return;
		this.#flushing.add(conversationId);
		try {
			for (;;) {
				if (!navigator.onLine || !getSocket().connected) return;
				const next = this.pending.find((p) => p.conversationId === conversationId && p.error === null);
				if (!next) return;
				this.#update(next.clientId, { sending: true });
				const answer = await request<{ message: MessagePayload }>('msg:send', { conversationId, clientId: next.clientId, body: next.body, ...(next.link ? { link: next.link } : {}), ...(next.mentions?.length ? { mentions: next.mentions } : {}) }, ACK_TIMEOUT_MS);
				if (answer === null || (!answer.ok && answer.error === TOO_MANY_EVENTS)) {
					// No answer: the message may or may not be stored. It stays, and goes again (same client id).
					// Refused for too many requests at once: nothing ran, it goes again the same way.
					this.#update(next.clientId, { sending: false });
					this.#scheduleRetry();
					return;
				}
				if (answer.ok) {
					this.pending = this.pending.filter((p) => p.clientId !== next.clientId);
					await removeEntry(next.clientId).catch(() => {});
					for (const listener of this.#listeners) listener(answer.message);
				} else {
					this.#update(next.clientId, { sending: false, error: answer.error });
					await putEntry({ ...this.#plain(next), error: answer.error }).catch(() => {});
				}
			}
		} finally {
			this.#flushing.delete(conversationId);
		}
	}

	#scheduleRetry() {
		clearTimeout(this.#retryTimer);
		this.#retryTimer = setTimeout(() => this.flushAll(), RETRY_MS);
	}

	#update(clientId: string, patch: Partial<PendingMessage>) {
		this.pending = this.pending.map((p) => (p.clientId === clientId ? { ...p, ...patch } : p));
	}

	#plain(p: PendingMessage): OutboxEntry {
		return { clientId: p.clientId, userId: p.userId, conversationId: p.conversationId, body: p.body, link: p.link ? { type: p.link.type, id: p.link.id } : null, mentions: [...(p.mentions ?? [])], createdAt: p.createdAt, error: p.error };
	}
}

export const sender = new Sender();

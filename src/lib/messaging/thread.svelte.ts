// One open conversation in the browser: its messages in the server's order (deduplicated by id,
// whichever way they came: page load, acknowledgement, msg:new, catch-up), who has read how far,
// who is typing, and whether the person may still read it at all.
import { getSocket } from '$lib/realtime/socket';
import { request } from './request';
import { sender } from './sender.svelte';
import type { MessagePayload, ReaderPosition } from './types';

export interface Typist {
	userId: string;
	name: string;
	until: number;
}

/** "Is typing" shows this long after the last signal (the sender repeats it every 2 s while typing). */
const TYPING_SHOWN_MS = 4_000;
const TYPING_SENT_EVERY_MS = 2_000;

export class Thread {
	messages = $state<MessagePayload[]>([]);
	readers = $state<ReaderPosition[]>([]);
	typists = $state<Typist[]>([]);
	access = $state<'rw' | 'ro'>('rw');
	/** The person lost the conversation (left the care team): the page is replaced. */
	lost = $state(false);
	/** The socket is connected (messages arrive live). */
	live = $state(false);
	loadingOlder = $state(false);
	/** No message before the first one shown. */
	complete = $state(false);
	/** The last message of someone else that arrived live, for the screen reader's polite announcement. */
	arrived = $state<MessagePayload | null>(null);
	readonly id: string;
	readonly me: string;
	#sentRead = 0;
	#lastTyping = 0;

	constructor(id: string, me: string, initial: { messages: MessagePayload[]; readers: ReaderPosition[]; access: 'rw' | 'ro' }) {
		this.id = id;
		this.me = me;
		this.access = initial.access;
		this.readers = initial.readers;
		this.merge(initial.messages);
		this.complete = initial.messages.length === 0 || initial.messages[0].seq <= 1;
		this.#sentRead = initial.readers.find((r) => r.userId === me)?.seq ?? 0;
	}

	get lastSeq(): number {
		return this.messages.at(-1)?.seq ?? 0;
	}

	/** Adds or replaces messages by id, kept in sequence order. */
	merge(list: MessagePayload[]): void {
		const mine = list.filter((m) => m.conversationId === this.id);
		if (mine.length === 0) return;
		const byId = new Map(this.messages.map((m) => [m.id, m]));
		for (const m of mine) byId.set(m.id, m);
		this.messages = [...byId.values()].sort((a, b) => a.seq - b.seq);
	}

	/** Listens to the server; returns the clean-up. */
	start(): () => void {
		const socket = getSocket();
		const onNew = (m: MessagePayload) => {
			if (m?.conversationId !== this.id) return;
			const known = this.messages.some((x) => x.id === m.id);
			this.merge([m]);
			this.typists = this.typists.filter((t) => t.userId !== m.senderId);
			if (!known && m.senderId !== this.me) this.arrived = m;
		};
		const onUpdated = (m: MessagePayload) => {
			if (m?.conversationId === this.id && this.messages.some((x) => x.id === m.id)) this.merge([m]);
		};
		const onRead = (r: { conversationId: string; userId: string; seq: number }) => {
			if (r?.conversationId !== this.id) return;
			this.readers = this.readers.map((x) => (x.userId === r.userId && r.seq > x.seq ? { ...x, seq: r.seq } : x));
		};
		const onTyping = (t: { conversationId: string; userId: string; name: string }) => {
			if (t?.conversationId !== this.id || t.userId === this.me) return;
			const until = Date.now() + TYPING_SHOWN_MS;
			this.typists = [...this.typists.filter((x) => x.userId !== t.userId), { userId: t.userId, name: t.name, until }];
			setTimeout(() => (this.typists = this.typists.filter((x) => x.until > Date.now())), TYPING_SHOWN_MS + 50);
		};
		const onAccess = () => void this.recheck();
		const onConnect = () => {
			this.live = true;
			void this.catchUp();
		};
		const onDisconnect = () => (this.live = false);
		const stopStored = sender.onStored((m) => this.merge([m]));
		socket.on('msg:new', onNew);
		socket.on('msg:updated', onUpdated);
		socket.on('msg:read', onRead);
		socket.on('msg:typing', onTyping);
		socket.on('msg:access', onAccess);
		socket.on('connect', onConnect);
		socket.on('disconnect', onDisconnect);
		this.live = socket.connected;
		// The page was rendered a moment ago: whatever came since is fetched once the socket is there.
		if (socket.connected) void this.catchUp();
		return () => {
			stopStored();
			socket.off('msg:new', onNew);
			socket.off('msg:updated', onUpdated);
			socket.off('msg:read', onRead);
			socket.off('msg:typing', onTyping);
			socket.off('msg:access', onAccess);
			socket.off('connect', onConnect);
			socket.off('disconnect', onDisconnect);
		};
	}

	/** What was missed since the last message seen, in order (after every (re)connection). */
	async catchUp(): Promise<void> {
		for (;;) {
			const after = this.lastSeq;
			const answer = await request<{ messages: MessagePayload[] }>('msg:after', { conversationId: this.id, afterSeq: after });
			if (answer === null) return;
			if (!answer.ok) return this.recheck();
			this.merge(answer.messages);
			if (answer.messages.length < 500) return;
		}
	}

	/** Access may have changed (care team): open again, or give the page up. */
	async recheck(): Promise<void> {
		const answer = await request<{ conversation: { access: 'rw' | 'ro' }; messages: MessagePayload[]; readers: ReaderPosition[] }>('msg:open', { conversationId: this.id });
		if (answer === null) return;
		if (!answer.ok) {
			this.lost = true;
			this.messages = [];
			return;
		}
		this.access = answer.conversation.access;
		this.readers = answer.readers;
		this.merge(answer.messages);
	}

	async older(): Promise<void> {
		const first = this.messages[0];
		if (!first || this.loadingOlder || this.complete) return;
		this.loadingOlder = true;
		try {
			const answer = await request<{ messages: MessagePayload[] }>('msg:before', { conversationId: this.id, beforeSeq: first.seq });
			if (answer?.ok) {
				this.merge(answer.messages);
				if (answer.messages.length === 0 || answer.messages[0].seq <= 1) this.complete = true;
			}
		} finally {
			this.loadingOlder = false;
		}
	}

	/** The person has seen up to this message (it was on screen). */
	async read(seq: number): Promise<void> {
		if (seq <= this.#sentRead || this.lost) return;
		this.#sentRead = seq;
		const answer = await request('msg:read', { conversationId: this.id, seq });
		if (answer === null) this.#sentRead = 0; // said again when next seen
	}

	typing(): void {
		const now = Date.now();
		if (now - this.#lastTyping < TYPING_SENT_EVERY_MS || this.access !== 'rw') return;
		this.#lastTyping = now;
		void request('msg:typing', { conversationId: this.id });
	}

	/** Edits or deletes one's own message: null when done, the French refusal, or false without an answer. */
	async correct(messageId: string, body: string | null): Promise<string | false | null> {
		const answer =
			body === null
				? await request<{ message: MessagePayload }>('msg:delete', { conversationId: this.id, messageId })
				: await request<{ message: MessagePayload }>('msg:edit', { conversationId: this.id, messageId, body });
		if (answer === null) return false;
		if (!answer.ok) return answer.error;
		this.merge([answer.message]);
		return null;
	}

	/** Who has read one of my messages: the others whose position is at or past it. */
	readersOf(m: MessagePayload): ReaderPosition[] {
		return this.readers.filter((r) => r.userId !== this.me && r.seq >= m.seq);
	}
}
